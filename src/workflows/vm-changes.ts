/**
 * Changing a VM the bot made, one workflow for Slack and the CLI: pre-flight before anyone is
 * asked, then the policy — its day-2 rules (`when.action`) judge the VM as it would be after, and
 * quotas count what the change adds — decides: applied now, a request for a lead (before → after
 * and the exact calls shown; approved through the same gate as new VMs), or refused. The change
 * itself runs exactly once (provision/actions/change.ts). The CLI is the operator's: it applies
 * after pre-flight, as `vmbot apply` does, audited under the operator's name.
 */
import { CodedError, EXIT, isBusy } from '../errors.js';
import type { Logger } from '../log.js';
import type { LoadedPolicy } from '../policy/load.js';
import { deviceKinds } from '../policy/evaluate.js';
import { evaluate } from '../policy/evaluate.js';
import { isIn } from '../policy/members.js';
import { quotaStandings } from '../policy/standing.js';
import { ChangeFailure, RunBusyError, type ChangeResult, type Provisioner } from '../provision/provisioner.js';
import type { Requests } from '../requests/requests.js';
import type { RequestRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { vmIdOf, type VmRecord } from '../store/vm-record.js';
import type { VergeosApi } from '../vergeos/client.js';
import type { Snapshot } from '../vergeos/types.js';
import { changeCalls, describeChange, specAfter, specDrive } from '../vmchange/describe.js';
import type { VmChange } from '../vmchange/schema.js';
import type { FieldError } from '../vmspec/validate.js';
import { CHANGE_FIELD, preflightChange } from './change-preflight.js';
import { heldNow, policyStamp, type People } from './decide.js';

export interface ChangeDeps {
  store: Store;
  provisioner: Provisioner;
  requests: Requests;
  vergeos: VergeosApi;
  policy: () => LoadedPolicy;
  people: (policy: LoadedPolicy, user: string) => Promise<People>;
  logger?: Logger | undefined;
}

export type ChangeAsked =
  /** Nothing changed: why, as field errors (pre-flight, or the policy's deny). */
  | { kind: 'refused'; errors: FieldError[] }
  /** Applied now (the policy allowed it without a lead), or earlier for the same click. */
  | { kind: 'done'; result: ChangeResult; warnings: string[]; rule?: string | undefined }
  /** A lead must approve it: the request (`created` false: the same click asked before). */
  | { kind: 'requested'; request: RequestRecord; created: boolean };

/** Who shows changes (Slack: the VM's thread and the audit channel). */
export interface ChangeObserver {
  applied(result: ChangeResult, request?: RequestRecord): Promise<void>;
  failed(vm: VmRecord, message: string, request?: RequestRecord): Promise<void>;
}

export class VmChanges {
  #observer: ChangeObserver | undefined;

  constructor(private readonly deps: ChangeDeps) {}

  observe(observer: ChangeObserver): void {
    this.#observer = observer;
  }

  /** Before → after in words, and the exact calls: what a lead or an operator is shown. */
  show(vm: VmRecord, change: VmChange): { shown: string; calls: string[] } {
    return { shown: describeChange(change, vm), calls: changeCalls(change, vm.keys) };
  }

  /** The VM's snapshots as VergeOS lists them, newest first. */
  snapshots(vm: VmRecord): Promise<Snapshot[]> {
    return vm.keys.machineKey ? this.deps.vergeos.listSnapshots(vm.keys.machineKey) : Promise.resolve([]);
  }

  /** One of its snapshots by name or key, for a restore or a delete; a clear error when none or several match. */
  async snapshot(vm: VmRecord, which: string): Promise<Snapshot> {
    const all = await this.snapshots(vm);
    const found = all.filter((s) => s.key === which || s.name === which);
    if (found.length === 1) return found[0]!;
    if (!found.length)
      throw new CodedError(
        'SNAPSHOT_NOT_FOUND',
        `${vm.name} has no snapshot ${which}${all.length ? ` (its snapshots: ${all.map((s) => s.name).join(', ')})` : ' (it has none)'}`,
        {
          exitCode: EXIT.badInput,
        },
      );
    throw new CodedError(
      'SNAPSHOT_AMBIGUOUS',
      `${which} names ${found.length} snapshots of ${vm.name}; give its key instead (${found.map((s) => s.key).join(', ')})`,
      {
        exitCode: EXIT.badInput,
      },
    );
  }

  /** Pre-flight alone (the CLI's plan, a modal's field errors). */
  check(vm: VmRecord, change: VmChange) {
    return preflightChange(this.deps.vergeos, vm, change);
  }

  /**
   * A change asked in Slack (`sourceId`: the form submission or click, so a second delivery acts
   * once): pre-flight, the policy, then applied now or filed for a lead.
   */
  async ask(vm: VmRecord, asked: VmChange, actor: string, sourceId: string): Promise<ChangeAsked> {
    const { store, requests, provisioner } = this.deps;
    const earlier = this.#earlier(vm, sourceId);
    if (earlier) return earlier;
    const checked = await this.check(vm, asked);
    if (checked.errors.length) return { kind: 'refused', errors: checked.errors };
    // As pre-flight completed it (a restore carries the size it goes back to): judged and sent so.
    const change = checked.change;
    const loaded = this.deps.policy();
    const people = await this.deps.people(loaded, actor);
    // Quotas are the owner's (a lead may act on someone else's VM).
    const owner = vm.owner === actor ? people : await this.deps.people(loaded, vm.owner);
    const decided = await store.exclusive(async () => {
      const again = this.#earlier(store.getVm(vm.id) ?? vm, sourceId);
      if (again) return again;
      const current = store.getVm(vm.id) ?? vm;
      const evaluation = this.#evaluate(current, change, actor, loaded, people, owner);
      const { decision, rule } = evaluation;
      if (decision.kind === 'deny') {
        await requests.recordDenied(actor, vm.name, `${describeChange(change, current)}: rule ${rule} (policy ${loaded.hash}): ${decision.reason}`);
        return {
          kind: 'refused' as const,
          errors: [{ path: CHANGE_FIELD[change.action], message: `Not allowed by the approval policy (rule ${rule}): ${decision.reason}` }],
        };
      }
      if (decision.kind === 'approve') {
        const { request, created } = await requests.create({
          requester: actor,
          spec: specAfter(current, change),
          change: { runId: vm.runId, change, ...this.show(current, change) },
          recipe: this.#recipeOf(current),
          warnings: checked.warnings,
          policy: policyStamp(loaded, evaluation),
          sourceViewId: sourceId,
        });
        return { kind: 'requested' as const, request, created };
      }
      // Allowed now: reserved inside the section, so the next decision counts it against the quota.
      await provisioner.reserveChange(vm.runId, { id: sourceId, change, actor, approval: `rule ${rule}` });
      return { kind: 'auto' as const, rule };
    });
    if (decided.kind !== 'auto') return decided;
    const result = await this.#apply(vm, { id: sourceId, change, actor, approval: `rule ${decided.rule}` });
    return { kind: 'done', result, warnings: checked.warnings, rule: decided.rule };
  }

  /** The operator's change (`vmbot resize` …): pre-flight, then applied. Refusals are field errors. */
  async apply(
    vm: VmRecord,
    change: VmChange,
    actor: string,
    id: string,
  ): Promise<{ kind: 'refused'; errors: FieldError[] } | { kind: 'done'; result: ChangeResult; warnings: string[] }> {
    const earlier = vm.changes?.find((c) => c.id === id);
    if (!earlier) {
      const checked = await this.check(vm, change);
      if (checked.errors.length) return { kind: 'refused', errors: checked.errors };
      return { kind: 'done', result: await this.#apply(vm, { id, change: checked.change, actor }), warnings: checked.warnings };
    }
    return { kind: 'done', result: await this.#apply(vm, { id, change, actor }), warnings: [] };
  }

  /** An approved change request: applied once (its id is the change's), the request closed, and shown. */
  async startApproved(request: RequestRecord, lead: string): Promise<void> {
    const { provisioner, requests } = this.deps;
    // Applied and closed already (a second process, a restart): the ledger entry of this id says so.
    if ((await requests.load(request.id))?.state !== 'approved') return;
    const asked = request.change!;
    await this.deps.store.catchUp('vms', vmIdOf(asked.runId));
    const vm = provisioner.ownedVm(asked.runId);
    const approval = `${request.id}, approved by ${lead}`;
    // Approved a while ago: what must still hold is checked again now (the VM handed on, a limit changed).
    const refusal = vm ? await this.#stillAllowed(vm, request) : 'the VM no longer exists; nothing was changed';
    if (refusal) {
      const closed = await requests.finishChange(request.id, false, refusal);
      const record = this.deps.store.getVm(vmIdOf(asked.runId));
      return record ? this.#observer?.failed(record, refusal, closed) : undefined;
    }
    if (!vm) return;
    try {
      const result = await provisioner.change(asked.runId, { id: request.id, change: asked.change, actor: request.requester, requestId: request.id, approval });
      const done = await requests.finishChange(request.id, true, describeChange(asked.change));
      await this.#observer?.applied(result, done);
    } catch (err) {
      // The VM is busy (another action, or another process applying this very change): the request
      // stays approved and the recovery pass starts it again; whoever applies it closes it.
      if (isBusy(err)) return;
      const message = (err as Error).message;
      const closed = await requests.finishChange(request.id, false, message);
      await this.#observer?.failed(provisioner.ownedVm(asked.runId) ?? vm, message, closed);
    }
  }

  /** Changes a stopped process left in flight, finished (looked up first) and shown; one VM's trouble stops none of the others. */
  async resume(): Promise<void> {
    for (const vm of this.deps.provisioner.vmsWithChangesInFlight()) {
      try {
        for (const result of await this.deps.provisioner.resumeChanges(vm.runId)) {
          if (result.entry.status === 'done') await this.#observer?.applied(result);
          else await this.#observer?.failed(result.vm, result.entry.error?.message ?? 'it failed');
        }
      } catch (err) {
        this.deps.logger?.warn({ vm: vm.name, err: (err as Error).message }, 'resuming a change failed; tried again on the next pass');
      }
    }
  }

  /** Why an approved change may no longer be applied: its asker no longer owns the VM nor leads, or pre-flight says no now. */
  async #stillAllowed(vm: VmRecord, request: RequestRecord): Promise<string | undefined> {
    if (vm.owner !== request.requester) {
      const loaded = this.deps.policy();
      const who = (await this.deps.people(loaded, request.requester)).who;
      if (!isIn(loaded.policy, 'VM_APPROVERS', who))
        return `${vm.name} was handed on since it was asked for, and the one who asked is not a lead; nothing was changed`;
    }
    const checked = await this.check(vm, request.change!.change);
    if (checked.errors.length) return `pre-flight now finds: ${checked.errors.map((e) => e.message).join('; ')}; nothing was changed`;
    return undefined;
  }

  async #apply(vm: VmRecord, asked: Parameters<Provisioner['change']>[1]): Promise<ChangeResult> {
    const { provisioner } = this.deps;
    try {
      const result = await provisioner.change(vm.runId, asked);
      if (!result.already) await this.#observer?.applied(result);
      return result;
    } catch (err) {
      // A reservation never sent is withdrawn whatever stopped it (busy, a store that did not answer),
      // so nothing happens behind the asker's back; one that was sent stays for its lookup.
      await provisioner.withdrawReservedChange(vm.runId, asked.id).catch(() => undefined);
      // Only a failure recorded on the ledger is one: anything else left nothing changed, or in flight for its lookup.
      if (err instanceof ChangeFailure) await this.#observer?.failed(err.vm, err.message);
      throw err;
    }
  }

  /** What the same click or form already did: its change on the record, or its request. */
  #earlier(vm: VmRecord, sourceId: string): ChangeAsked | undefined {
    const entry = vm.changes?.find((c) => c.id === sourceId);
    if (entry?.status === 'done') return { kind: 'done', result: { vm, entry, already: true }, warnings: [] };
    if (entry?.status === 'failed')
      return { kind: 'refused', errors: [{ path: CHANGE_FIELD[entry.change.action], message: entry.error?.message ?? 'it failed' }] };
    if (entry) throw new RunBusyError(`${vm.name}: this change is under way (${describeChange(entry.change)}); its outcome is posted in the VM's thread`);
    const request = this.deps.store.requestsBy('sourceViewId', sourceId)[0];
    return request ? { kind: 'requested', request, created: false } : undefined;
  }

  #recipeOf(vm: VmRecord): string | undefined {
    return vm.requestId ? this.deps.store.getRequest(vm.requestId)?.recipe : undefined;
  }

  #evaluate(vm: VmRecord, change: VmChange, actor: string, loaded: LoadedPolicy, people: People, owner: People) {
    const after = specAfter(vm, change);
    const added = (tier: string | undefined) => {
      const on = (t: string | undefined) => tier === undefined || (t ?? '1') === tier;
      if (change.action === 'disk_add') return change.drive.media === 'disk' && on(change.drive.preferred_tier) ? (change.drive.disksize ?? 0) : 0;
      if (change.action === 'disk_grow') {
        const before = specDrive(vm, change.drive);
        return before && on(before.preferred_tier) ? change.disksize - (before.disksize ?? 0) : 0;
      }
      return 0;
    };
    return evaluate(loaded.policy, {
      action: change.action,
      replacing: vm.spec,
      newDiskBytes: added,
      recipe: this.#recipeOf(vm),
      specs: [after],
      requester: actor,
      requesterIn: (ref) => isIn(loaded.policy, ref, people.who),
      deviceKind: deviceKinds([]),
      quotas: quotaStandings(loaded.policy, heldNow(this.deps.store), owner.who, owner.has),
    });
  }
}
