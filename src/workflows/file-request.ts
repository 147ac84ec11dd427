/**
 * Filing a request: the one workflow Slack's form and any other edge call. Limits, pre-flight,
 * the policy's decision, the lease and the name reservation live here, once:
 *   1. the facts are gathered from VergeOS (bounded in time; unknown facts are never assumed);
 *   2. in one exclusive section against the store (every process, both backends) the requester's
 *      limits, the names asked for and the quota are checked, the policy decides, and the request
 *      is filed — so N concurrent submissions admit exactly what N sequential ones would.
 * Without the facts the request is filed `waiting_preflight`: not approvable, decided later by
 * `decideWaiting` when VergeOS answers.
 */
import { isUnwritable } from '../store/durable-file.js';
import type { LoadedPolicy } from '../policy/load.js';
import { requestSpecs, requestSubject, type Requests } from '../requests/requests.js';
import type { RequestRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { VergeosApi } from '../vergeos/client.js';
import type { Recipe } from '../vmspec/recipes.js';
import type { VmSpec } from '../vmspec/schema.js';
import { batchProblems, type FieldError } from '../vmspec/validate.js';
import { gatherFacts, type Facts } from './facts.js';
import { decide, heldNow, type People } from './decide.js';
import { nameClashes } from './names.js';
import { requestLimitReached } from './request-limits.js';

export interface FilingDeps {
  store: Store;
  requests: Requests;
  vergeos: VergeosApi;
  /** The policy in force now. */
  policy: () => LoadedPolicy;
  /** Who `user` is under `policy` (their groups), and who else is in a group (for group quotas). */
  people: (policy: LoadedPolicy, user: string) => Promise<People>;
  limits: { maxPending: number; perHour: number };
  /** The recipes in force, to judge later whether a waiting request is still within its recipe. */
  recipes: () => readonly Recipe[];
  /** How long pre-flight may take (a Slack form must be answered within 3 s). */
  preflightMs: number;
  now?: () => number;
}

export interface FilingInput {
  requester: string;
  /** Leads are not held to the per-person limits. */
  unlimited: boolean;
  recipe?: Recipe | undefined;
  /** Every VM asked for, names already normalized at the edge. */
  specs: VmSpec[];
  batch?: { count: number; pattern: string } | undefined;
  /** The lease asked for (undefined: until deleted). */
  lease?: { forMs: number; maxMs?: number | undefined } | undefined;
  /** The form submission it comes from: a retried delivery yields the first one's request. */
  sourceViewId?: string | undefined;
  /**
   * A copy of an existing VM (its run, VM key and name) rather than a VM built from the spec: judged
   * as `clone` by the policy (the creation rules too), its lease (the source's terms) held to the rule's.
   */
  clone?: RequestRecord['clone'] | undefined;
}

export type FilingOutcome =
  /** Nothing filed: why, as field errors (`vm.name`, `keep_for`, `count`, a spec path). */
  { kind: 'refused'; errors: FieldError[] } | { kind: 'filed'; request: RequestRecord; created: boolean; waitingWhy?: string | undefined };

/** The form's answer when the store can't take the request: nothing filed, and the form kept to submit again. */
function cannotFile(problem: string): FilingOutcome {
  return {
    kind: 'refused',
    errors: [
      {
        path: 'vm.name',
        message: `The bot can't file requests right now: ${problem}. Nothing was filed; submit again in a few minutes (the form keeps what you entered).`,
      },
    ],
  };
}

/** How the policy is asked about a new VM: made from its spec, or a copy (its lease the source's terms, up to the rule's). */
function makingBy(clone: boolean): { action: 'create' | 'clone'; leaseUpToRule: boolean } {
  return clone ? { action: 'clone', leaseUpToRule: true } : { action: 'create', leaseUpToRule: false };
}

export class RequestFiling {
  readonly #deps: FilingDeps;

  constructor(deps: FilingDeps) {
    this.#deps = deps;
  }

  async file(input: FilingInput): Promise<FilingOutcome> {
    const { store, vergeos, preflightMs } = this.#deps;
    const again = this.#alreadyFiled(input.sourceViewId);
    if (again) return again;
    // A store that takes no writes can't file anything: said now, in the form, rather than lost later.
    const health = store.health();
    if (!health.ok) return cannotFile(health.problem);
    // At the limit already: say so before asking VergeOS anything (checked again when filing).
    const early = this.#limitProblem(input);
    if (early) return { kind: 'refused', errors: [early] };
    const shared = batchProblems(input.specs);
    if (shared.length) return { kind: 'refused', errors: shared };
    const loaded = this.#deps.policy();
    const [found, people] = await Promise.all([
      gatherFacts(vergeos, input.specs, preflightMs),
      this.#deps.people(loaded, input.requester).catch((err: unknown) => err as Error),
    ]);
    if (found.kind === 'problems') return { kind: 'refused', errors: found.errors };
    // Who the requester is counts as a fact too: a group Slack can't resolve is never assumed empty.
    const facts: Facts = people instanceof Error ? { kind: 'unknown', why: people.message } : found;
    try {
      return await store.exclusive(() => this.#admit(input, facts, loaded, people instanceof Error ? undefined : people));
    } catch (err) {
      if (!isUnwritable(err)) throw err;
      // Filed after all if the request itself was stored (a later write, such as its audit record, failed).
      const filed = this.#alreadyFiled(input.sourceViewId);
      return filed?.kind === 'filed' ? { ...filed, created: true } : cannotFile((err as Error).message);
    }
  }

  /** The checks that must hold at the moment of filing, and the filing itself. */
  async #admit(input: FilingInput, facts: Facts, loaded: LoadedPolicy, people: People | undefined): Promise<FilingOutcome> {
    const { requests } = this.#deps;
    const again = this.#alreadyFiled(input.sourceViewId);
    if (again) return again;
    const limited = this.#limitProblem(input);
    if (limited) return { kind: 'refused', errors: [limited] };
    const clashes = nameClashes(
      this.#deps.store,
      input.specs.map((s) => s.vm.name),
    );
    if (clashes) return { kind: 'refused', errors: [clashes] };
    const filing = { requester: input.requester, batch: input.batch, recipe: input.recipe?.id, sourceViewId: input.sourceViewId, clone: input.clone };
    if (facts.kind === 'unknown') {
      const { request, created } = await requests.create({
        ...filing,
        spec: input.specs[0]!,
        lease: input.lease,
        warnings: [],
        waiting: true,
      });
      return { kind: 'filed', request, created, waitingWhy: facts.why };
    }
    if (facts.kind !== 'known' || !people) throw new Error('bug: unreachable, problems are refused before admission');
    const decided = decide(heldNow(this.#deps.store), loaded, people, {
      ...input,
      ...makingBy(input.clone !== undefined),
      specs: facts.specs,
      resourceGroups: facts.resourceGroups,
    });
    if (decided.kind === 'denied') {
      await requests.recordDenied(input.requester, requestSubject({ spec: input.specs[0]!, batch: input.batch }), decided.audit);
      return { kind: 'refused', errors: [decided.error] };
    }
    if (decided.kind === 'refused') return { kind: 'refused', errors: [decided.error] };
    const { request, created } = await requests.create({
      ...filing,
      spec: facts.specs[0]!,
      lease: decided.lease,
      warnings: [...facts.warnings, ...decided.warnings],
      policy: decided.policy,
    });
    return { kind: 'filed', request, created };
  }

  /**
   * A request that waited for pre-flight, decided now if VergeOS answers: moved to pending or
   * approved, or rejected with the reason. Undefined: VergeOS still can't be asked (try later), or
   * another process decided it meanwhile.
   */
  async decideWaiting(id: string, deadlineMs: number): Promise<RequestRecord | undefined> {
    const { store, requests } = this.#deps;
    const waiting = await requests.load(id);
    if (waiting?.state !== 'waiting_preflight') return undefined;
    const recipe = waiting.recipe;
    const specs = requestSpecs(waiting);
    const facts = await gatherFacts(this.#deps.vergeos, specs, deadlineMs);
    if (facts.kind === 'unknown') return undefined;
    const loaded = this.#deps.policy();
    const people = await this.#deps.people(loaded, waiting.requester).catch(() => undefined);
    if (!people) return undefined; // Slack can't say who the requester is yet: later
    return store.exclusive(async () => {
      const current = await requests.load(id);
      if (current?.state !== 'waiting_preflight') return undefined;
      if (facts.kind === 'problems')
        return requests.decideWaiting(id, { kind: 'refused', reason: `pre-flight found: ${facts.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}` });
      if (facts.kind !== 'known') return undefined;
      const input = {
        requester: current.requester,
        recipe: this.#recipeOf(recipe),
        specs: facts.specs,
        batch: current.batch,
        lease: current.lease,
        ...makingBy(current.kind === 'clone'),
        resourceGroups: facts.resourceGroups,
      };
      const decided = decide(heldNow(store, id), loaded, people, input);
      if (decided.kind !== 'decided') return requests.decideWaiting(id, { kind: 'refused', reason: decided.error.message });
      return requests.decideWaiting(id, {
        kind: 'decided',
        spec: facts.specs[0]!,
        policy: decided.policy,
        warnings: [...facts.warnings, ...decided.warnings],
        lease: decided.lease,
      });
    });
  }

  #recipeOf(id: string | undefined): Recipe | undefined {
    return id === undefined ? undefined : this.#deps.recipes().find((r) => r.id === id);
  }

  #alreadyFiled(viewId: string | undefined): FilingOutcome | undefined {
    if (!viewId) return undefined;
    const existing = this.#deps.store.requestsBy('sourceViewId', viewId)[0];
    return existing ? { kind: 'filed', request: existing, created: false } : undefined;
  }

  #limitProblem(input: FilingInput): FieldError | undefined {
    if (input.unlimited) return undefined;
    const now = (this.#deps.now ?? Date.now)();
    const mine = this.#deps.requests.limiting(input.requester, now - 3_600_000, input.sourceViewId ?? '');
    const limited = requestLimitReached(mine, this.#deps.limits, now);
    return limited ? { path: 'vm.name', message: limited } : undefined;
  }
}
