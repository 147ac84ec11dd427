/**
 * An extension racing the expiry sweep wins. Interleavings are driven by hooks, not timing: the
 * sweep's `beforeAct` (after it read the VM, before it claims the step) and the simulator's
 * `onRequest` (while VergeOS is handling the power-off).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LeaseOptions } from '../../src/leases/leases.js';
import { vmIdOf, type VmRecord } from '../../src/store/records.js';
import { leasesOn, provisioningRig, type ProvisioningRig, recipeSpec } from '../helpers/core.js';

const DAY = 86_400_000;

describe('an extension racing the expiry sweep', () => {
  let rig: ProvisioningRig;
  let now: number;
  let vm: VmRecord;
  let end: number;
  const leases = (options: LeaseOptions = {}) => leasesOn(rig, { now: () => now, ...options });
  const status = async () => (await rig.client.machineStatus(vm.keys.machineKey!))?.status;
  const actions = () => rig.sim.requestsTo('POST /vm_actions').map((r) => (r.body as { action: string }).action);
  const audit = async () =>
    (await readFile(join(rig.dir, 'audit.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; actor: string; detail?: string });

  beforeEach(async () => {
    rig = await provisioningRig();
    const run = await rig.provisioner.createRun(await recipeSpec('web-server', 'race-01'), { actor: 'U0ALICE', lease: { forMs: 7 * DAY, maxMs: 30 * DAY } });
    expect((await rig.provisioner.execute(run.id)).state).toBe('succeeded');
    vm = rig.store.getVm(vmIdOf(run.id))!;
    end = Date.parse(vm.lease!.endsAt!);
    expect(await status()).toBe('running');
  });
  afterEach(() => rig.close());

  it('one that lands after the sweep read the run, before it powers off: no power-off, the new end stands', async () => {
    now = end;
    const acted: string[] = [];
    const sweeping = leases({
      beforeAct: async (action) => {
        acted.push(action);
        // The owner clicks Extend (another Leases: another caller) just as the sweep decided.
        expect(await leases().extend(vm.runId, { by: 7 * DAY }, 'U0ALICE')).toMatchObject({ ok: true });
      },
    });
    expect(await sweeping.sweep()).toEqual([]);
    expect(acted).toEqual(['power_off']);
    expect(actions()).toEqual(['poweron']); // only the one from provisioning
    expect(await status()).toBe('running');
    expect(rig.store.getVm(vm.id)!.lease).toMatchObject({ endsAt: new Date(end + 7 * DAY).toISOString(), outbox: [] });
    expect(rig.store.getVm(vm.id)!.lease).not.toHaveProperty('expiring');
    expect(rig.store.getVm(vm.id)!.lease).not.toHaveProperty('expiredAt');
    // And the next sweep, at the old end, has nothing to do.
    expect(await leases().sweep()).toEqual([]);
    expect(await status()).toBe('running');
  });

  it('one that lands while VergeOS powers the VM off: it is powered on again and nothing is recorded as expired', async () => {
    now = end;
    let extended: unknown;
    const off = rig.sim.onRequest('POST /vm_actions', async (record) => {
      if ((record.body as { action: string }).action !== 'poweroff') return;
      off();
      extended = await leases().extend(vm.runId, { by: 7 * DAY }, 'U0ALICE');
    });
    expect(await leases().sweep()).toEqual([]);
    expect(extended).toMatchObject({ ok: true, endsAt: new Date(end + 7 * DAY).toISOString() });
    expect(actions()).toEqual(['poweron', 'poweroff', 'poweron']);
    expect(await status()).toBe('running');
    const lease = rig.store.getVm(vm.id)!.lease!;
    expect(lease).toMatchObject({ endsAt: new Date(end + 7 * DAY).toISOString(), outbox: [] });
    expect(lease.expiredAt).toBeUndefined();
    expect((await audit()).filter((r) => r.action.startsWith('lease.'))).toEqual([
      expect.objectContaining({ action: 'lease.extended', actor: 'U0ALICE' }),
      expect.objectContaining({
        action: 'lease.expiry_cancelled',
        actor: 'lease',
        detail: `lease was extended to ${new Date(end + 7 * DAY).toISOString()} while it was being powered off at the end of ${new Date(end).toISOString()}; powered on again`,
      }),
    ]);
  });

  it('one that lands after the sweep read the run, before it deletes: the VM is kept', async () => {
    now = end;
    expect((await leases().sweep()).map((e) => e.type)).toEqual(['expired']);
    expect(await status()).toBe('stopped');
    now = end + 3 * DAY; // the end of the grace period
    const sweeping = leases({
      beforeAct: async (action) => {
        expect(action).toBe('delete');
        expect(await leases().extend(vm.runId, { until: new Date(now + 10 * DAY) }, 'U0ALICE')).toMatchObject({ ok: true });
      },
    });
    expect(await sweeping.sweep()).toEqual([]);
    expect(rig.sim.requestsTo('DELETE /vms/:key')).toEqual([]);
    expect(rig.sim.state.table('vms').has(vm.keys.vmKey)).toBe(true);
    expect(rig.store.getVm(vm.id)).toMatchObject({ state: 'live', lease: { endsAt: new Date(now + 10 * DAY).toISOString() } });
    expect(rig.store.getRun(vm.runId)).toMatchObject({ state: 'succeeded' });
    expect(rig.store.getRun(vm.runId)!.decommission).toBeUndefined();
    expect(await leases().sweep()).toEqual([]);
    expect(rig.sim.state.table('vms').has(vm.keys.vmKey)).toBe(true);
  });

  it('once the deletion is claimed, an extension is refused and the deletion finishes', async () => {
    now = end;
    await leases().sweep();
    now = end + 3 * DAY;
    let late: unknown;
    const del = rig.sim.onRequest('DELETE /vms/:key', async () => {
      del();
      late = await leases().extend(vm.runId, { by: 7 * DAY }, 'U0ALICE');
    });
    expect((await leases().sweep()).map((e) => e.type)).toEqual(['deleted']);
    expect(late).toEqual({ ok: false, code: 'no_vm', reason: 'race-01 is being deleted; its lease can no longer be extended' });
    expect(rig.store.getRun(vm.runId)?.state).toBe('decommissioned');
  });
});
