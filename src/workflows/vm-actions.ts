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
import type { RequestRecord, RunRecord, VmRecord } from '../store/records.js';
import type { VmAddresses } from './vm-addresses.js';

/** Whether `user` may act on a VM: gone (not one the bot manages), someone else's, or theirs to act on. */
export type VmAccess = { kind: 'gone' } | { kind: 'not_yours'; vm: VmRecord; owner: string } | { kind: 'ok'; vm: VmRecord };

/** Keeping a VM longer by its lease period, from Slack's Extend button. */
export type LeaseExtension =
  | { kind: 'extended'; endsAt: string; wasExpired: boolean }
  /** Beyond the lease's maximum: a request for a lead (`created` false: one already asks for it). */
  | { kind: 'requested'; request: RequestRecord; created: boolean; until: string }
  | { kind: 'no_lease' }
  | { kind: 'refused'; reason: string };

export class VmActions {
  constructor(private readonly deps: { provisioner: Provisioner; leases: Leases; requests: Requests; addresses: VmAddresses }) {}

  /** The VM `runId` names, if `user` may act on it: its owner, or a lead. */
  async access(runId: string, user: string, isLead: (user: string) => Promise<boolean>): Promise<VmAccess> {
    const vm = this.deps.provisioner.ownedVm(runId);
    if (!vm) return { kind: 'gone' };
    if (vm.owner !== user && !(await isLead(user))) return { kind: 'not_yours', vm, owner: vm.owner };
    return { kind: 'ok', vm };
  }

  /** A VM by name or VM key among those the bot made that still exist (the CLI names VMs so). */
  find(which: string): VmRecord {
    const found = this.deps.provisioner.ownedVms().filter((v) => v.name === which || v.keys.vmKey === which);
    if (!found.length) throw new CodedError('VM_NOT_FOUND', `no VM ${which} made through the bot (see \`vmbot vms\`)`, { exitCode: EXIT.badInput });
    if (found.length > 1)
      throw new CodedError('VM_AMBIGUOUS', `${which} names ${found.length} VMs; give the VM key instead (${found.map((v) => v.keys.vmKey).join(', ')})`, {
        exitCode: EXIT.badInput,
      });
    return found[0]!;
  }

  /**
   * What VergeOS says of these VMs' NICs now (addresses), in one call, kept on their records; the
   * VMs as they are after. Those VergeOS did not answer for (or not live), as last known.
   */
  async readAddressesOf(vms: readonly VmRecord[]): Promise<VmRecord[]> {
    const live = vms.filter((vm) => vm.state === 'live');
    const read = await this.deps.addresses.readMany(live).catch(() => undefined);
    const byId = new Map((read ?? []).map((r) => [r.vm.id, r.vm]));
    return vms.map((vm) => byId.get(vm.id) ?? vm);
  }

  /** Power on or off (graceful, then kill); `already` when it was. Busy: another action holds it (`isBusy`). */
  power(vm: VmRecord, action: 'on' | 'off', actor: string): Promise<'done' | 'already'> {
    return this.deps.provisioner.power(vm.runId, action, actor);
  }

  /** Keep it one lease period longer (from its current end, or from now once ended); beyond the maximum, ask a lead. */
  async extendByLease(vm: VmRecord, actor: string): Promise<LeaseExtension> {
    const { leases, requests } = this.deps;
    const lease = vm.lease;
    if (!lease?.endsAt) return { kind: 'no_lease' };
    const until = new Date(Math.max(leases.now(), Date.parse(lease.endsAt)) + lease.forMs);
    const outcome = await leases.extend(vm.runId, until, actor);
    if (outcome.ok) return { kind: 'extended', endsAt: outcome.endsAt, wasExpired: lease.expiredAt !== undefined };
    if (outcome.code !== 'beyond_max') return { kind: 'refused', reason: outcome.reason };
    // Longer than the maximum: a request like any other, for a lead to approve (once per asked end).
    const { request, created } = await requests.create({
      requester: actor,
      spec: vm.spec,
      extension: { runId: vm.runId, until: until.toISOString() },
      warnings: [],
      sourceViewId: `extend:${vm.runId}:${until.toISOString()}`,
    });
    return { kind: 'requested', request, created, until: until.toISOString() };
  }

  /** Change its lease as an operator asks (`vmbot extend`): by a length or to a date, perhaps giving it one. */
  extend(vm: VmRecord, change: LeaseChange, actor: string, options: { setLease: boolean }): ReturnType<Leases['extend']> {
    return this.deps.leases.extend(vm.runId, change, actor, options);
  }

  /** Hand it to someone else (they own it from now: quotas, leases, notices). */
  transfer(vm: VmRecord, to: string, actor: string): Promise<VmRecord> {
    return this.deps.provisioner.transfer(vm.runId, to, actor);
  }

  /** Delete it with its drives, NICs and devices; the run ends `decommissioned`, or says why not (run again to resume). */
  decommission(vm: VmRecord, actor: string): Promise<RunRecord> {
    return this.deps.provisioner.decommission(vm.runId, actor);
  }
}
