/**
 * Trying to break VM records (issue 24): crashes between the VM record's write and the run's, a
 * lease's deletion claimed on the VM record and then a crash, a user's decommission against a
 * lease's, a VM noticed gone and then decommissioned, listing order, quotas in each window, and an
 * extension racing a transfer. Those marked "found by this file" were bugs, fixed; the others
 * guard a guarantee no other test holds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Leases } from '../../src/leases/leases.js';
import { useOf } from '../../src/policy/quota.js';
import { vmIdOf, type VmRecord } from '../../src/store/records.js';
import type { RunState } from '../../src/store/run-states.js';
import { heldNow } from '../../src/workflows/decide.js';
import { leasesOn, provisioningRig, recipeSpec, type ProvisioningRig } from '../helpers/core.js';

const DAY = 86_400_000;
const GRACE = 3 * DAY;

describe('VM records, broken on purpose', () => {
  let rig: ProvisioningRig;
  let now: number;
  /** A new one is a restarted bot's. */
  const leases = (options: Parameters<typeof leasesOn>[1] = {}): Leases => leasesOn(rig, { now: () => now, ...options });
  const deletes = () => rig.sim.requestsTo('DELETE /vms/:key').length;

  beforeEach(async () => {
    rig = await provisioningRig();
  });
  afterEach(() => rig.close());

  /** A VM of U0ALICE's with a week's lease; the clock at its start. */
  const leasedVm = async (name: string): Promise<VmRecord> => {
    const run = await rig.provisioner.createRun(await recipeSpec('web-server', name), { actor: 'U0ALICE', lease: { forMs: 7 * DAY, maxMs: 30 * DAY } });
    expect((await rig.provisioner.execute(run.id)).state).toBe('succeeded');
    const vm = rig.store.getVm(vmIdOf(run.id))!;
    now = Date.parse(vm.lease!.endsAt!) - 7 * DAY;
    return vm;
  };

  /** The process stops (a power cut) just before the run write that would put it in `to`; the returned function lets writes through again. */
  const cutBeforeRunWrite = (to: RunState): (() => void) => {
    const store = rig.store;
    const updateRun = store.updateRun.bind(store);
    store.updateRun = async (id, expect, mutate, options) => {
      const probe = structuredClone(store.getRun(id)!);
      mutate(probe);
      if (probe.state === to) throw new Error('power cut');
      return updateRun(id, expect, mutate, options);
    };
    return () => void (store.updateRun = updateRun);
  };

  /**
   * A decommission claims the VM record (`deleting`) before the run, in the compare-and-set an
   * extension and a transfer make on it: cut between the two writes, the VM is refused to both,
   * and the next sweep finishes the deletion as the user asked it. (Found by this file: the run was
   * written first, and in that window the VM record still said `live`.)
   */
  it('a decommission cut between the VM record write and the run write: extension and transfer are refused, the next sweep deletes it once', async () => {
    const vm = await leasedVm('brk-ext');
    cutBeforeRunWrite('cleaning_up');
    await expect(rig.provisioner.decommission(vm.runId, 'U0ALICE')).rejects.toThrow('power cut');
    await rig.restart(true);
    expect(rig.store.getVm(vm.id)).toMatchObject({ state: 'deleting', deleting: { by: 'U0ALICE' } });
    expect(rig.store.getRun(vm.runId)!.state).toBe('succeeded');

    expect(await leases().extend(vm.runId, { by: 7 * DAY }, 'U0ALICE')).toEqual({
      ok: false,
      code: 'no_vm',
      reason: 'brk-ext is being deleted; its lease can no longer be extended',
    });
    await expect(rig.provisioner.transfer(vm.runId, 'U0BOB', 'U0LEAD')).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
    expect(rig.store.getVm(vm.id)!.owner).toBe('U0ALICE');
    // Resumed by the sweep as the user's deletion: no lease notice.
    const sweeper = leases();
    expect(await sweeper.sweep()).toEqual([]);
    expect(rig.store.getRun(vm.runId)).toMatchObject({ state: 'decommissioned', decommission: { by: 'U0ALICE' } });
    expect(rig.store.getVm(vm.id)).toMatchObject({ state: 'deleted' });
    expect(sweeper.outbox()).toEqual([]);
    expect(deletes()).toBe(1);
  });

  /** Expired (powered off), then past its grace: the sweep claims the deletion, and the process stops before the run's decommission. */
  const claimDeletionThenCut = async (vm: VmRecord) => {
    now = Date.parse(vm.lease!.endsAt!);
    expect((await leases().sweep()).map((e) => e.type)).toEqual(['expired']);
    now += GRACE;
    rig.provisioner.decommission = () => Promise.reject(new Error('power cut'));
    expect(await leases().sweep()).toEqual([]);
    await rig.restart(true);
    expect(rig.store.getVm(vm.id)).toMatchObject({ state: 'deleting', deleting: { by: 'lease' } });
    expect(rig.store.getRun(vm.runId)!.state).toBe('succeeded');
  };

  /** Guard: the claim on the VM record is all a restarted process needs to finish the deletion, once, and tell the owner once. */
  it('a lease deletion claimed on the VM record, then a crash before the run is touched: the next sweep deletes it once and tells the owner once', async () => {
    const vm = await leasedVm('brk-claim');
    await claimDeletionThenCut(vm);
    const sweeper = leases();
    expect((await sweeper.sweep()).map((e) => e.type)).toEqual(['deleted']);
    expect(rig.sim.state.table('vms').has(vm.keys.vmKey)).toBe(false);
    expect(rig.store.getRun(vm.runId)).toMatchObject({ state: 'decommissioned', decommission: { by: 'lease' } });
    expect(rig.store.getVm(vm.id)).toMatchObject({ state: 'deleted', deleting: { by: 'lease' }, deletedAt: expect.any(String) });
    expect(sweeper.outbox().map((n) => `${n.noticeId}:${n.event.type}`)).toEqual([`expired-${vm.lease!.endsAt}:expired`, 'deleted:deleted']);
    expect(await leases().sweep()).toEqual([]);
    expect(deletes()).toBe(1);
  });

  /**
   * A VM whose deletion its lease has claimed (VM record `deleting`, the run not yet touched, e.g.
   * after a crash) is not powered on: power asks the VM record too. (Found by this file.)
   */
  it('a lease deletion claimed, then a crash: the VM being deleted is not powered on', async () => {
    const vm = await leasedVm('brk-power');
    await claimDeletionThenCut(vm);
    expect((await rig.client.machineStatus(vm.keys.machineKey!))?.status).toBe('stopped');
    await expect(rig.provisioner.power(vm.runId, 'on', 'U0ALICE')).rejects.toMatchObject({
      code: 'RUN_BUSY',
      message: 'brk-power is being deleted; it was not powered on',
    });
    expect((await rig.client.machineStatus(vm.keys.machineKey!))?.status).toBe('stopped');
  });

  /** Guard: a user's decommission that lands after the sweep read the VM, before it claims the deletion: one DELETE, no lease notice. */
  it("a user's decommission racing a lease's deletion: deleted once, by the user, and the owner is not told it was the lease", async () => {
    const vm = await leasedVm('brk-race');
    now = Date.parse(vm.lease!.endsAt!);
    await leases().sweep();
    now += GRACE;
    let during: string | undefined;
    const sweeper = leases({
      beforeAct: async (action, read) => {
        if (action !== 'delete') return;
        during = (await rig.provisioner.decommission(read.runId, 'U0ALICE')).state;
      },
    });
    expect(await sweeper.sweep()).toEqual([]);
    expect(during).toBe('decommissioned');
    expect(rig.store.getVm(vm.id)).toMatchObject({ state: 'deleted', deleting: { by: 'U0ALICE' } });
    expect(rig.store.getRun(vm.runId)).toMatchObject({ state: 'decommissioned', decommission: { by: 'U0ALICE' } });
    expect(sweeper.outbox().map((n) => n.event.type)).toEqual(['expired']);
    expect(await leases().sweep()).toEqual([]);
    expect(deletes()).toBe(1);
  });

  /**
   * Decommissioning a VM noticed gone (`vmbot decommission` finds it) ends its record `deleted`:
   * no longer listed or offered. (Found by this file: it stayed `gone`, listed, and a second
   * decommission failed with a bare STORE_CONFLICT.)
   */
  it('a VM noticed gone and then decommissioned is no longer one the bot manages', async () => {
    const run = await rig.provisioner.createRun(await recipeSpec('web-server', 'brk-gone'), { actor: 'U0ALICE' });
    const made = await rig.provisioner.execute(run.id);
    rig.sim.state.vmAction({ vm: made.keys.vmKey!, action: 'kill' });
    rig.sim.state.deleteVm(made.keys.vmKey!);
    expect((await rig.provisioner.noticeDeletedVms()).map((v) => v.runId)).toEqual([run.id]);
    expect((await rig.provisioner.decommission(run.id, 'U0LEAD')).state).toBe('decommissioned');
    expect(rig.provisioner.ownedVms().map((v) => v.name)).toEqual([]);
    expect(rig.provisioner.ownedVm(run.id)).toBeUndefined();
    expect(rig.provisioner.vmsOwnedBy('U0ALICE')).toEqual([]);
  });

  /**
   * After a crash between the VM record and the run's `succeeded`, the VM is listed (it exists),
   * and a decommission is refused as busy — what Slack and the CLI say for a VM being acted on —
   * until the run is resumed. (Found by this file: it was a bare STORE_CONFLICT, which Slack's
   * delete listener rethrew.)
   */
  it('a VM whose run is not yet marked succeeded (cut after its record) is busy to a decommission until the run is resumed', async () => {
    const run = await rig.provisioner.createRun(await recipeSpec('web-server', 'brk-half'), { actor: 'U0ALICE' });
    cutBeforeRunWrite('succeeded');
    await expect(rig.provisioner.execute(run.id)).rejects.toThrow('power cut');
    await rig.restart(true);
    expect(rig.store.getRun(run.id)!.state).toBe('running');
    await expect(rig.provisioner.decommission(run.id, 'U0ALICE')).rejects.toMatchObject({
      code: 'RUN_BUSY',
      message: `run ${run.id} is still being provisioned; wait for it to finish`,
    });
    expect(rig.store.getVm(vmIdOf(run.id))!.state).toBe('live');
    expect((await rig.provisioner.execute(run.id)).state).toBe('succeeded');
    expect((await rig.provisioner.decommission(run.id, 'U0ALICE')).state).toBe('decommissioned');
    expect(deletes()).toBe(1);
  });

  /**
   * Guard: VMs are listed in the order they were asked for (the VM record's createdAt is its run's),
   * not the order they became ready, by `ownedVms()` (`vmbot vms`) and by owner (`/vm-create mine`).
   */
  it("a user's VMs are listed in the order they were asked for, as before, not the order they became ready", async () => {
    const first = await rig.provisioner.createRun(await recipeSpec('web-server', 'brk-ord-1'), { actor: 'U0ALICE' });
    const second = await rig.provisioner.createRun(await recipeSpec('web-server', 'brk-ord-2'), { actor: 'U0ALICE' });
    expect((await rig.provisioner.execute(second.id)).state).toBe('succeeded');
    expect((await rig.provisioner.execute(first.id)).state).toBe('succeeded');
    expect(rig.provisioner.ownedVms().map((v) => v.name)).toEqual(['brk-ord-1', 'brk-ord-2']);
    expect(rig.provisioner.vmsOwnedBy('U0ALICE').map((v) => v.name)).toEqual(['brk-ord-1', 'brk-ord-2']);
  });

  /** Guard: a quota counts each VM once, and a deleted one not at all, in every window a crash can leave between the VM record's write and the run's. */
  it('quotas count a VM once in each window between its record and its run, and not once VergeOS deleted it', async () => {
    const held = () => useOf(heldNow(rig.store), ['U0ALICE']).vms;
    const made = await rig.provisioner.createRun(await recipeSpec('web-server', 'brk-q1'), { actor: 'U0ALICE' });
    const letThrough = cutBeforeRunWrite('succeeded');
    await expect(rig.provisioner.execute(made.id)).rejects.toThrow('power cut');
    expect([rig.store.getRun(made.id)!.state, rig.store.getVm(vmIdOf(made.id))!.state]).toEqual(['running', 'live']);
    expect(held()).toBe(1);
    letThrough();
    expect((await rig.provisioner.execute(made.id)).state).toBe('succeeded');
    expect(held()).toBe(1);

    cutBeforeRunWrite('cleaning_up');
    await expect(rig.provisioner.decommission(made.id, 'U0ALICE')).rejects.toThrow('power cut');
    await rig.restart(true);
    expect([rig.store.getRun(made.id)!.state, rig.store.getVm(vmIdOf(made.id))!.state]).toEqual(['succeeded', 'deleting']);
    expect(held()).toBe(1);

    // VergeOS deleted it, the VM record says so, and the run's last write fails: nothing is held.
    const letThroughAgain = cutBeforeRunWrite('decommissioned');
    expect((await rig.provisioner.decommission(made.id, 'U0ALICE')).state).toBe('cleaning_up');
    expect(rig.store.getVm(vmIdOf(made.id))!.state).toBe('deleted');
    expect(rig.sim.state.table('vms').has(rig.store.getRun(made.id)!.keys.vmKey!)).toBe(false);
    expect(held()).toBe(0);
    letThroughAgain();
    expect((await rig.provisioner.decommission(made.id, 'U0ALICE')).state).toBe('decommissioned');
    expect(held()).toBe(0);
  });

  /**
   * The VM record is marked `deleted` before the run's last write; a decommission resumed after a
   * crash there finds it so and sends nothing again. (Found by this file: it stopped and DELETEd
   * the VM key again, harmless only while VergeOS never gives that key to another VM.)
   */
  it('a decommission resumed after its VM record was marked deleted sends nothing to VergeOS again', async () => {
    const vm = await leasedVm('brk-twice');
    cutBeforeRunWrite('decommissioned');
    expect((await rig.provisioner.decommission(vm.runId, 'U0ALICE')).state).toBe('cleaning_up');
    await rig.restart(true);
    expect(rig.store.getVm(vm.id)!.state).toBe('deleted');
    expect(deletes()).toBe(1);
    const sent = rig.sim.requests.length;
    expect((await rig.provisioner.cleanup(vm.runId, 'vmbot')).state).toBe('decommissioned');
    expect(rig.sim.requests.slice(sent).map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  /** Guard: an extension and a transfer at once: whatever each reports as done is on the VM record (neither overwrites the other). */
  it('an extension racing a transfer: each change reported done is kept', async () => {
    const vm = await leasedVm('brk-both');
    const end = new Date(now + 20 * DAY);
    const [moved, extended] = await Promise.allSettled([rig.provisioner.transfer(vm.runId, 'U0BOB', 'U0LEAD'), leases().extend(vm.runId, end, 'U0ALICE')]);
    const after = rig.store.getVm(vm.id)!;
    expect(extended).toMatchObject({ status: 'fulfilled', value: { ok: true, endsAt: end.toISOString() } });
    expect(after.lease!.endsAt).toBe(end.toISOString());
    if (moved.status === 'fulfilled') expect(after.owner).toBe('U0BOB');
    else expect([after.owner, (moved.reason as { code?: string }).code]).toEqual(['U0ALICE', 'STORE_CONFLICT']);
    // The other order: the extension first.
    const [extended2, moved2] = await Promise.allSettled([
      leases().extend(vm.runId, new Date(now + 21 * DAY), 'U0BOB'),
      rig.provisioner.transfer(vm.runId, 'U0CAROL', 'U0LEAD'),
    ]);
    const last = rig.store.getVm(vm.id)!;
    expect(extended2).toMatchObject({ status: 'fulfilled', value: { ok: true } });
    expect(last.lease!.endsAt).toBe(new Date(now + 21 * DAY).toISOString());
    if (moved2.status === 'fulfilled') expect(last.owner).toBe('U0CAROL');
    else expect((moved2.reason as { code?: string }).code).toBe('STORE_CONFLICT');
  });
});
