/**
 * Copying a VM the bot made ("Another like this" in Slack, `vmbot clone`): a new VM owned by
 * whoever asks, with its own lease, made as creations are. Slack's is a request filed through the
 * filing workflow — limits, the name reserved, pre-flight, the policy's creation rules and its
 * rules for clones, quotas counting the copy like any new VM — run once approved as one clone call
 * and power on. The CLI is the operator's: pre-flight, then run as `vmbot apply` runs (no policy).
 */
import { CodedError, EXIT } from '../errors.js';
import { planRun, type Plan } from '../plan/plan.js';
import { withPurpose } from '../vergeos/purpose.js';
import { preflightSpecs } from '../preflight/check.js';
import type { Provisioner, RunEventListener } from '../provision/provisioner.js';
import type { RequestRecord, RunRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { VmRecord } from '../store/vm-record.js';
import type { VergeosApi } from '../vergeos/client.js';
import type { Recipe } from '../vmspec/recipes.js';
import { VM_NAME_MAX, vmNameSchema, type VmSpec } from '../vmspec/schema.js';
import { fieldErrors, normalizeVmName, type FieldError } from '../vmspec/validate.js';
import type { FilingOutcome, RequestFiling } from './file-request.js';
import { nameClashes } from './names.js';

export interface CloneDeps {
  store: Store;
  provisioner: Provisioner;
  filing: Pick<RequestFiling, 'file'>;
  vergeos: VergeosApi;
  /** The recipes in force: a copy counts as its source's recipe while within its bounds. */
  recipes: () => readonly Recipe[];
}

/** What a copy of `vm` named `name` is: its source's configuration now (resized or not), renamed, powered on once made. */
export function cloneSpec(vm: Pick<VmRecord, 'spec'>, name: string): VmSpec {
  const spec = structuredClone(vm.spec);
  return { ...spec, vm: { ...spec.vm, name }, power_on: true };
}

/** The name a copy is offered first: `<name>-copy`, within VergeOS's length. */
export function defaultCloneName(vm: Pick<VmRecord, 'name'>): string {
  const suffix = '-copy';
  return `${vm.name.slice(0, VM_NAME_MAX - suffix.length).trimEnd()}${suffix}`;
}

/** A name as typed, normalized and checked against the VM name rules. */
function checkedName(typed: string): { name: string; errors: FieldError[] } {
  const normalized = normalizeVmName(typed);
  if (!normalized.ok) return { name: typed, errors: normalized.errors };
  const parsed = vmNameSchema.safeParse(normalized.value);
  return parsed.success
    ? { name: parsed.data, errors: [] }
    : { name: normalized.value, errors: fieldErrors(parsed.error).map((e) => ({ ...e, path: 'vm.name' })) };
}

export class VmClones {
  constructor(private readonly deps: CloneDeps) {}

  /** The calls the copy is made with: the clone of `vm` (its VM key) and power on. */
  plan(vm: VmRecord, name: string): Plan {
    return planRun({ spec: cloneSpec(vm, name), clone: { vmKey: vm.keys.vmKey, name: vm.name } });
  }

  /**
   * A copy asked for in Slack: filed as a `clone` request by `requester` (a retried delivery of
   * `sourceViewId` yields the first one's). Filed approved, it starts once announced, as any request.
   */
  async ask(vm: VmRecord, typedName: string, requester: string, options: { sourceViewId?: string | undefined; unlimited: boolean }): Promise<FilingOutcome> {
    const { name, errors } = checkedName(typedName);
    const refused = [...errors, ...this.#sourceProblems(vm)];
    if (refused.length) return { kind: 'refused', errors: refused };
    return this.deps.filing.file({
      requester,
      unlimited: options.unlimited,
      recipe: this.#recipeOf(vm),
      specs: [cloneSpec(vm, name)],
      lease: leaseTermsOf(vm),
      sourceViewId: options.sourceViewId,
      clone: { runId: vm.runId, vmKey: vm.keys.vmKey, name: vm.name },
    });
  }

  /**
   * Pre-flight of a copy as `vmbot clone` asks it: the source still live, the name valid, not
   * reserved by a live request and free in VergeOS, room on its tiers. Warnings for the operator.
   */
  async check(vm: VmRecord, typedName: string): Promise<{ name: string; errors: FieldError[]; warnings: string[] }> {
    const { name, errors } = checkedName(typedName);
    if (errors.length) return { name, errors, warnings: [] };
    const source = this.#sourceProblems(vm);
    if (source.length) return { name, errors: source, warnings: [] };
    const clash = nameClashes(this.deps.store, [name]);
    if (clash) return { name, errors: [clash], warnings: [] };
    const checked = await withPurpose('preflight', () => preflightSpecs(this.deps.vergeos, [cloneSpec(vm, name)]));
    return { name, errors: checked.errors, warnings: checked.warnings };
  }

  /**
   * The operator's copy (`vmbot clone`): checked as `check` does, then made at once — one run that
   * clones `vm` and powers the copy on, owned by `actor`, kept as long as the source's lease terms say.
   */
  async apply(vm: VmRecord, typedName: string, actor: string, listener?: RunEventListener): Promise<RunRecord> {
    const checked = await this.check(vm, typedName);
    if (checked.errors.length)
      throw new CodedError('CLONE_REFUSED', `${checked.errors.map((e) => e.message).join('; ')}. Nothing was created.`, { exitCode: EXIT.badInput });
    const lease = leaseTermsOf(vm);
    const run = await this.deps.provisioner.createRun(cloneSpec(vm, checked.name), {
      actor,
      ...(lease ? { lease } : {}),
      clone: { vmKey: vm.keys.vmKey, name: vm.name },
    });
    return this.deps.provisioner.execute(run.id, listener, actor);
  }

  /** Only a VM that exists can be copied. */
  #sourceProblems(vm: VmRecord): FieldError[] {
    if (vm.state === 'live' && vm.keys.vmKey) return [];
    const why = vm.state === 'gone' ? 'was deleted outside the bot' : vm.state === 'live' ? 'has no VM key' : `is ${vm.state}`;
    return [{ path: 'vm.name', message: `${vm.name} ${why}, so it cannot be copied` }];
  }

  /** The source's recipe (as its request named it): the policy's recipe rules judge the copy while it is within it. */
  #recipeOf(vm: VmRecord): Recipe | undefined {
    const id = vm.requestId ? this.deps.store.getRequest(vm.requestId)?.recipe : undefined;
    return id === undefined ? undefined : this.deps.recipes().find((r) => r.id === id);
  }
}

/** How long the copy is kept: its source's lease terms (not what is left of its lease); none, until deleted. */
function leaseTermsOf(vm: VmRecord): RequestRecord['lease'] {
  return vm.lease ? { forMs: vm.lease.forMs, ...(vm.lease.maxMs !== undefined ? { maxMs: vm.lease.maxMs } : {}) } : undefined;
}
