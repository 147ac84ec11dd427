/** Leases with a controllable clock: reminders once each, power-off at the end, deletion after grace, restarts, extensions. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LeaseEvent } from '../../src/leases/leases.js';
import { vmIdOf, type VmRecord } from '../../src/store/records.js';
import { leasesOn, provisioningRig, type ProvisioningRig, recipeSpec } from '../helpers/core.js';

const DAY = 86_400_000;

describe('leases', () => {
  let rig: ProvisioningRig;
  let now: number;
  let vm: VmRecord;
  const leases = () => leasesOn(rig, { now: () => now }); // a new one = a restarted bot
  const types = (events: LeaseEvent[]) => events.map((e) => e.type);
  const status = async () => (await rig.client.machineStatus(vm.keys.machineKey!))?.status;

  beforeEach(async () => {
    rig = await provisioningRig();
    const run = await rig.provisioner.createRun(await recipeSpec('web-server', 'leased-01'), { actor: 'U0ALICE', lease: { forMs: 7 * DAY, maxMs: 30 * DAY } });
    expect((await rig.provisioner.execute(run.id)).state).toBe('succeeded');
    vm = rig.store.getVm(vmIdOf(run.id))!;
    now = Date.parse(vm.lease!.endsAt!) - 7 * DAY;
  });
  afterEach(() => rig.close());

  it('runs from when the VM is ready: two reminders, power-off at the end, deletion after the grace period — each once, across restarts', async () => {
    expect(Date.parse(vm.lease!.endsAt!) - Date.parse(vm.updatedAt)).toBeLessThan(7 * DAY + 5_000);
    expect(await leases().sweep()).toEqual([]);
    now += 4 * DAY + 1; // 3 days before the end
    expect(types(await leases().sweep())).toEqual(['reminder']);
    expect(await leases().sweep()).toEqual([]);
    now += 2 * DAY; // 1 day before
    const [second] = await leases().sweep();
    expect(second).toMatchObject({ type: 'reminder', inMs: DAY - 1 });
    expect(await leases().sweep()).toEqual([]);

    now += DAY; // the end
    expect(await status()).toBe('running');
    const [expired] = await leases().sweep();
    expect(expired).toMatchObject({ type: 'expired', deleteAt: new Date(Date.parse(vm.lease!.endsAt!) + 3 * DAY).toISOString() });
    expect(await status()).toBe('stopped');
    expect(await leases().sweep()).toEqual([]);
    expect(rig.sim.requestsTo('POST /vm_actions').filter((r) => (r.body as { action: string }).action === 'poweroff')).toHaveLength(1);

    now += 3 * DAY; // end of grace
    expect(types(await leases().sweep())).toEqual(['deleted']);
    expect(rig.sim.state.table('vms').has(vm.keys.vmKey)).toBe(false);
    expect(rig.store.getRun(vm.runId)?.state).toBe('decommissioned');
    expect(await leases().sweep()).toEqual([]);
    expect(rig.sim.requestsTo('DELETE /vms/:key')).toHaveLength(1);
  });

  it('a power-off claimed by a process that stopped is finished by the next, once', async () => {
    now = Date.parse(vm.lease!.endsAt!);
    await rig.store.updateVm(vm.id, { version: rig.store.getVm(vm.id)!.version }, (v) => (v.lease!.expiring = new Date(now).toISOString()));
    expect(types(await leases().sweep())).toEqual(['expired']);
    expect(await status()).toBe('stopped');
    expect(await leases().sweep()).toEqual([]);
  });

  it('a deletion VergeOS refused is resumed by a later sweep and happens once', async () => {
    now = Date.parse(vm.lease!.endsAt!);
    await leases().sweep();
    now += 3 * DAY;
    rig.sim.faults.add({ route: 'DELETE /vms/:key', times: 20, status: 500, body: { err: 'busy' } });
    expect(types(await leases().sweep())).toEqual(['delete_failed']);
    expect(rig.store.getRun(vm.runId)?.state).toBe('cleaning_up');
    rig.sim.faults.clear();
    expect(types(await leases().sweep())).toEqual(['deleted']);
    expect(rig.sim.state.table('vms').has(vm.keys.vmKey)).toBe(false);
    expect(await leases().sweep()).toEqual([]);
  });

  it('extends within the maximum at once, refuses beyond it, and an extended VM is not deleted', async () => {
    const l = leases();
    const beyond = await l.extend(vm.runId, new Date(now + 31 * DAY), 'U0ALICE');
    expect(beyond).toMatchObject({ ok: false, reason: expect.stringMatching(/^that is beyond its maximum lease of 30 days from now/) });
    now = Date.parse(vm.lease!.endsAt!);
    await l.sweep(); // expired, powered off
    const ok = await l.extend(vm.runId, new Date(now + 10 * DAY), 'U0ALICE');
    expect(ok).toMatchObject({ ok: true });
    now += 3 * DAY; // the old deletion time
    expect(await l.sweep()).toEqual([]);
    expect(rig.sim.state.table('vms').has(vm.keys.vmKey)).toBe(true);
    now += 4 * DAY; // 3 days before the new end: the reminders start over
    expect(types(await l.sweep())).toEqual(['reminder']);
  });
});
