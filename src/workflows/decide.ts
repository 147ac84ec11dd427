/**
 * The policy's decision for a request about to be filed (or decided after waiting), on facts:
 * device kinds from VergeOS, quota use from the store as it is now (VMs held, and approved
 * requests whose VMs are not made yet), the recipe only while the spec is within its bounds.
 * Pure over the store's reads: the caller holds the store's exclusive section.
 */
import { deviceKinds, evaluate, type Evaluation } from '../policy/evaluate.js';
import type { LoadedPolicy } from '../policy/load.js';
import { isIn, type Membership } from '../policy/members.js';
import { holdsVm, type HeldVms } from '../policy/quota.js';
import { holdsSize, vmIdOf, type VmRecord } from '../store/vm-record.js';
import { specAfter } from '../vmchange/describe.js';
import type { VmChange } from '../vmchange/schema.js';
import { quotaStandings } from '../policy/standing.js';
import { requestSpecs } from '../requests/requests.js';
import type { RequestRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { ResourceGroup } from '../vergeos/types.js';
import { beyondRecipe } from '../vmspec/recipe-bounds.js';
import type { Recipe } from '../vmspec/recipes.js';
import type { VmSpec } from '../vmspec/schema.js';
import { formatDuration } from '../vmspec/units.js';
import type { FieldError } from '../vmspec/validate.js';

/** Who the requester is under the policy, and whether another person is in a group (group quotas). */
export interface People {
  who: Membership;
  has: (ref: string, actor: string) => boolean;
}

export interface DecisionInput {
  requester: string;
  /** What makes the VM (default `create`); a clone follows the creation rules and those for clones. */
  action?: 'create' | 'clone' | undefined;
  recipe?: Recipe | undefined;
  /** Device types filled in by pre-flight. */
  specs: readonly VmSpec[];
  lease?: { forMs: number; maxMs?: number | undefined } | undefined;
  /**
   * A lease nobody chose (a clone takes its source's terms): when the rule allows less, or needs
   * one and there is none, the rule's longest stands in instead of a refusal.
   */
  leaseUpToRule?: boolean | undefined;
  resourceGroups: readonly ResourceGroup[];
}

/** What the policy decided, with the evaluation it came from (every rule tried, quotas) for whoever explains it. */
export type Decided =
  | { kind: 'decided'; policy: NonNullable<RequestRecord['policy']>; lease?: RequestRecord['lease'] | undefined; warnings: string[]; evaluation: Evaluation }
  | { kind: 'denied'; error: FieldError; audit: string; evaluation: Evaluation }
  | { kind: 'refused'; error: FieldError; evaluation: Evaluation };

/**
 * The one decision Slack's form, the background re-check and `vmbot policy explain` all make.
 * `held`: what VMs hold for quotas now (`heldNow(store)` inside the store's exclusive section).
 */
export function decide(held: HeldVms, loaded: LoadedPolicy, people: People, input: DecisionInput): Decided {
  const warnings: string[] = [];
  let recipe = input.recipe?.id;
  const beyond = input.recipe ? input.specs.map((s) => beyondRecipe(input.recipe!, s)).find((why) => why !== undefined) : undefined;
  if (beyond) {
    warnings.push(`Changed beyond recipe ${recipe}: ${beyond}. Rules written for that recipe do not apply to it.`);
    recipe = undefined;
  }
  const quotas = quotaStandings(loaded.policy, held, people.who, people.has);
  const evaluation = evaluate(loaded.policy, {
    action: input.action,
    recipe,
    specs: input.specs,
    requester: input.requester,
    requesterIn: (ref) => isIn(loaded.policy, ref, people.who),
    deviceKind: deviceKinds(input.resourceGroups),
    quotas,
  });
  const { decision, rule } = evaluation;
  if (decision.kind === 'deny')
    return {
      kind: 'denied',
      error: { path: 'vm.name', message: `Not allowed by the approval policy (rule ${rule}): ${decision.reason}` },
      audit: `rule ${rule} (policy ${loaded.hash}): ${decision.reason}`,
      evaluation,
    };
  const ruleMax = evaluation.leaseMaxMs;
  const terms = input.lease;
  const capped = input.leaseUpToRule && ruleMax !== undefined && (!terms || terms.forMs > ruleMax);
  const asked = capped ? { forMs: ruleMax, maxMs: ruleMax } : terms;
  if (ruleMax !== undefined && (!asked || asked.forMs > ruleMax))
    return {
      kind: 'refused',
      error: { path: 'keep_for', message: `the approval policy (rule ${rule}) keeps these VMs at most ${formatDuration(ruleMax)}; choose a shorter time` },
      evaluation,
    };
  // The longest an extension may go: the recipe's maximum or the rule's, whichever is shorter.
  const maxMs = Math.min(asked?.maxMs ?? Infinity, ruleMax ?? Infinity);
  const lease = asked ? { forMs: asked.forMs, ...(Number.isFinite(maxMs) ? { maxMs } : {}) } : undefined;
  if (capped) warnings.push(`Kept ${formatDuration(ruleMax)} at most under rule ${rule}${terms ? `, not ${formatDuration(terms.forMs)} as its source` : ''}.`);
  return { kind: 'decided', policy: policyStamp(loaded, evaluation), lease, warnings, evaluation };
}

/**
 * What the requester's VMs hold now for quotas: each VM's configuration now (its record, which
 * day-2 changes move), runs still making a VM or failed with one left behind (no record yet: their
 * approved spec), and approved requests whose runs are not created yet (an auto-approval a moment
 * ago must count against the next filing).
 */
export function heldNow(store: Store, excluding?: string): HeldVms {
  const committed = new Map<string, Array<{ spec: VmSpec }>>();
  for (const request of store.requestsBy('state', 'approved', (r) => r.id !== excluding && (r.kind === 'vm' || r.kind === 'batch' || r.kind === 'clone'))) {
    if (store.runsBy('requestId', request.id).length) continue;
    const specs = requestSpecs(request).map((spec) => ({ spec }));
    committed.set(request.requester, [...(committed.get(request.requester) ?? []), ...specs]);
  }
  // Changes a lead approved that are not applied yet count as if they were (their VM's size after).
  const approvedChanges = new Map<string, Array<{ id: string; change: VmChange }>>();
  for (const request of store.requestsBy('state', 'approved', (r) => r.id !== excluding && r.kind === 'change')) {
    const { runId, change } = request.change!;
    approvedChanges.set(runId, [...(approvedChanges.get(runId) ?? []), { id: request.id, change }]);
  }
  // Its ledger entry (if any) carries the request's id: counted once, from wherever it is now.
  const withChangesUnderWay = (vm: VmRecord): VmSpec => {
    const underWay = (vm.changes ?? []).filter((c) => c.status === 'in_flight');
    const approved = (approvedChanges.get(vm.runId) ?? []).filter((a) => !vm.changes?.some((e) => e.id === a.id));
    return [...underWay, ...approved].reduce((spec, { change }) => specAfter({ spec }, change), vm.spec);
  };
  return {
    owners: () => new Set([...store.vmKeys('owner'), ...store.runKeys('owner'), ...committed.keys()]),
    of: (owner) => [
      ...store.vmsBy('owner', owner, holdsSize).map((vm) => ({ spec: withChangesUnderWay(vm) })),
      ...store.runsBy('owner', owner, (r) => holdsVm(r) && !store.getVm(vmIdOf(r.id))),
      ...(committed.get(owner) ?? []),
    ],
  };
}

/** What a request records of the decision (not for deny: those are never filed). */
export function policyStamp(loaded: LoadedPolicy, evaluation: Evaluation): NonNullable<RequestRecord['policy']> {
  const quota = evaluation.quota.map(
    (q) => `${q.who === 'you' ? 'Quota' : `Quota of ${q.who}`}: ${q.before} now; ${q.after} with this${q.over.length ? ` (over: ${q.over.join(', ')})` : ''}`,
  );
  if (evaluation.decision.kind === 'approve') {
    const { count, from } = evaluation.decision;
    return { rule: evaluation.rule, hash: loaded.hash, decision: 'approve', count, from, quota };
  }
  return { rule: evaluation.rule, hash: loaded.hash, decision: 'auto', quota };
}
