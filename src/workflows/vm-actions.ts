/**
 * Day-2 actions on the VMs the bot made, as one workflow each: who may act (the owner or a
 * lead), power on/off, keep it longer (within the lease's maximum at once; beyond it, a request
 * for a lead), hand it to someone else, delete it. Slack's buttons and the `vmbot` commands call
 * these; each action is audited and runs once however often it is asked for.
 */
import { CodedError, EXIT } from '../errors.js';
import type { LeaseChange, Leases } from '../leases/leases.js';
import type { Provisioner } from '../provision/provisioner.js';
import type { Requests } from '../requests/requests.js';
import { ownerOf, type RequestRecord, type RunRecord } from '../store/records.js';

export { ownerOf };

/** Whether `user` may act on a VM: gone (not one the bot manages), someone else's, or theirs to act on. */
export type VmAccess = { kind: 'gone' } | { kind: 'not_yours'; run: RunRecord; owner: string } | { kind: 'ok'; run: RunRecord };

/** Keeping a VM longer by its lease period, from Slack's Extend button. */
export type LeaseExtension =
  | { kind: 'extended'; endsAt: string; wasExpired: boolean }
  /** Beyond the lease's maximum: a request for a lead (`created` false: one already asks for it). */
  | { kind: 'requested'; request: RequestRecord; created: boolean; until: string }
  | { kind: 'no_lease' }
  | { kind: 'refused'; reason: string };

export class VmActions {
  constructor(private readonly deps: { provisioner: Provisioner; leases: Leases; requests: Requests }) {}

  /** The VM `runId` names, if `user` may act on it: its owner, or a lead. */
  async access(runId: string, user: string, isLead: (user: string) => Promise<boolean>): Promise<VmAccess> {
    const run = this.deps.provisioner.ownedVm(runId);
    if (!run) return { kind: 'gone' };
    const owner = ownerOf(run);
    if (owner !== user && !(await isLead(user))) return { kind: 'not_yours', run, owner };
    return { kind: 'ok', run };
  }

  /** A VM by name or VM key among those the bot made that still exist (the CLI names VMs so). */
  find(which: string): RunRecord {
    const found = this.deps.provisioner.ownedVms().filter((r) => r.spec.vm.name === which || r.keys.vmKey === which);
    if (!found.length) throw new CodedError('VM_NOT_FOUND', `no VM ${which} made through the bot (see \`vmbot vms\`)`, { exitCode: EXIT.badInput });
    if (found.length > 1)
      throw new CodedError('VM_AMBIGUOUS', `${which} names ${found.length} VMs; give the VM key instead (${found.map((r) => r.keys.vmKey).join(', ')})`, {
        exitCode: EXIT.badInput,
      });
    return found[0]!;
  }

  /** Power on or off (graceful, then kill); `already` when it was. Busy: another action holds it (`isBusy`). */
  power(run: RunRecord, action: 'on' | 'off', actor: string): Promise<'done' | 'already'> {
    return this.deps.provisioner.power(run.id, action, actor);
  }

  /** Keep it one lease period longer (from its current end, or from now once ended); beyond the maximum, ask a lead. */
  async extendByLease(run: RunRecord, actor: string): Promise<LeaseExtension> {
    const { leases, requests } = this.deps;
    const lease = run.lease;
    if (!lease?.endsAt) return { kind: 'no_lease' };
    const until = new Date(Math.max(leases.now(), Date.parse(lease.endsAt)) + lease.forMs);
    const outcome = await leases.extend(run.id, until, actor);
    if (outcome.ok) return { kind: 'extended', endsAt: outcome.endsAt, wasExpired: lease.expiredAt !== undefined };
    if (outcome.code !== 'beyond_max') return { kind: 'refused', reason: outcome.reason };
    // Longer than the maximum: a request like any other, for a lead to approve (once per asked end).
    const { request, created } = await requests.create({
      requester: actor,
      spec: run.spec,
      extension: { runId: run.id, until: until.toISOString() },
      warnings: [],
      sourceViewId: `extend:${run.id}:${until.toISOString()}`,
    });
    return { kind: 'requested', request, created, until: until.toISOString() };
  }

  /** Change its lease as an operator asks (`vmbot extend`): by a length or to a date, perhaps giving it one. */
  extend(run: RunRecord, change: LeaseChange, actor: string, options: { setLease: boolean }): ReturnType<Leases['extend']> {
    return this.deps.leases.extend(run.id, change, actor, options);
  }

  /** Hand it to someone else (they own it from now: quotas, leases, notices). */
  transfer(run: RunRecord, to: string, actor: string): Promise<RunRecord> {
    return this.deps.provisioner.transfer(run.id, to, actor);
  }

  /** Delete it with its drives, NICs and devices; the run ends `decommissioned`, or says why not (run again to resume). */
  decommission(run: RunRecord, actor: string): Promise<RunRecord> {
    return this.deps.provisioner.decommission(run.id, actor);
  }
}
