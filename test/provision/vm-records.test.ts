/**
 * A VM's own record, apart from the run that made it: made once when the run's last step is done
 * (a power cut before the run is marked succeeded is resumed and finds it), marked as the bot
 * deletes the VM, moved by a transfer, and what quotas count (the VM's configuration now).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useOf } from '../../src/policy/quota.js';
import { vmIdOf, type RunRecord } from '../../src/store/records.js';
import { configurationOf } from '../../src/store/vms-from-runs.js';
import type { RunState } from '../../src/store/run-states.js';
import type { StoreExpect } from '../../src/store/store.js';
import { heldNow } from '../../src/workflows/decide.js';
import { provisioningRig, recipeSpec, type ProvisioningRig } from '../helpers/core.js';

const DAY = 86_400_000;

describe('VM records', () => {
  let rig: ProvisioningRig;
  beforeEach(async () => {
    rig = await provisioningRig();
  });
  afterEach(() => rig.close());

  const make = async (name: string, actor = 'U0ALICE', lease?: { forMs: number; maxMs?: number }) => {
    const run = await rig.provisioner.createRun(await recipeSpec('web-server', name), { actor, ...(lease ? { lease } : {}) });
    const done = await rig.provisioner.execute(run.id);
    expect(done.state).toBe('succeeded');
    return done;
  };
  const posts = () => rig.sim.requests.filter((r) => r.method === 'POST').length;

  it('is made when the last step is done, with the owner, keys, the approved configuration and a lease running from then', async () => {
    const before = Date.now();
    const run = await make('rec-01', 'U0ALICE', { forMs: 7 * DAY, maxMs: 30 * DAY });
    const vm = rig.store.getVm(vmIdOf(run.id))!;
    expect(vm).toMatchObject({
      kind: 'vm',
      id: `vm-${run.id.slice('run-'.length)}`,
      version: 0,
      state: 'live',
      name: 'rec-01',
      owner: 'U0ALICE',
      runId: run.id,
      keys: { vmKey: run.keys.vmKey, machineKey: run.keys.machineKey },
      spec: configurationOf(run.spec),
      lease: { forMs: 7 * DAY, maxMs: 30 * DAY, reminded: [], outbox: [] },
    });
    const endsAt = Date.parse(vm.lease!.endsAt!);
    expect(endsAt).toBeGreaterThanOrEqual(before + 7 * DAY);
    expect(endsAt).toBeLessThanOrEqual(Date.now() + 7 * DAY);
    // The run keeps what was approved and asked for; the lease that runs is the VM's.
    expect(rig.store.getRun(run.id)!.lease).toEqual({ forMs: 7 * DAY, maxMs: 30 * DAY, reminded: [], outbox: [] });
    expect(rig.store.vmsBy('owner', 'U0ALICE').map((v) => v.name)).toEqual(['rec-01']);
    expect(rig.store.vmsBy('runId', run.id).map((v) => v.id)).toEqual([vm.id]);
  });

  it('a power cut after the VM record and before the run is marked succeeded: the resumed run finds it and sends nothing again', async () => {
    const run = await rig.provisioner.createRun(await recipeSpec('web-server', 'cut-01'), { actor: 'U0ALICE' });
    const updateRun = rig.store.updateRun.bind(rig.store);
    rig.store.updateRun = async (id: string, expect: StoreExpect<RunState>, mutate: (r: RunRecord) => void, options?: { durable?: boolean }) => {
      const probe = structuredClone(rig.store.getRun(id)!);
      mutate(probe);
      if (probe.state === 'succeeded') throw new Error('power cut');
      return updateRun(id, expect, mutate, options);
    };
    await expect(rig.provisioner.execute(run.id)).rejects.toThrow('power cut');
    const sent = posts();
    await rig.restart(true);
    expect(rig.store.getRun(run.id)!.state).toBe('running');
    expect(rig.store.getVm(vmIdOf(run.id))).toMatchObject({ version: 0, state: 'live' });
    expect(rig.provisioner.interruptedRuns().map((r) => r.id)).toEqual([run.id]);

    expect((await rig.provisioner.execute(run.id)).state).toBe('succeeded');
    expect(posts()).toBe(sent);
    expect(rig.store.listVms().map((v) => [v.name, v.version])).toEqual([['cut-01', 0]]);
  });

  it('a decommission marks it deleting, then deleted; a transfer moves it to the new owner; the run is history', async () => {
    const run = await make('rec-02');
    const moved = await rig.provisioner.transfer(run.id, 'U0BOB', 'U0LEAD');
    expect(moved).toMatchObject({ owner: 'U0BOB', version: 1 });
    expect(rig.store.vmsBy('owner', 'U0BOB').map((v) => v.name)).toEqual(['rec-02']);
    expect(rig.store.vmsBy('owner', 'U0ALICE')).toEqual([]);
    expect(rig.provisioner.vmsOwnedBy('U0BOB').map((v) => v.runId)).toEqual([run.id]);

    let during: string | undefined;
    const off = rig.sim.onRequest('DELETE /vms/:key', () => {
      off();
      during = rig.store.getVm(vmIdOf(run.id))!.state;
    });
    expect((await rig.provisioner.decommission(run.id, 'U0BOB')).state).toBe('decommissioned');
    expect(during).toBe('deleting');
    expect(rig.store.getVm(vmIdOf(run.id))).toMatchObject({ state: 'deleted', deleting: { by: 'U0BOB' }, deletedAt: expect.any(String) });
    expect(rig.provisioner.ownedVms()).toEqual([]);
    await expect(rig.provisioner.transfer(run.id, 'U0ALICE', 'U0LEAD')).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
  });

  it('quotas count what each VM is configured with now, once, for whoever owns it now', async () => {
    const run = await make('rec-03');
    const vcpu = run.spec.vm.cpu_cores;
    expect(useOf(heldNow(rig.store), ['U0ALICE'])).toMatchObject({ vcpu, vms: 1 });
    // A day-2 change moves the VM's configuration, not the approved spec.
    const vm = rig.store.getVm(vmIdOf(run.id))!;
    await rig.store.updateVm(vm.id, { version: vm.version, states: ['live'] }, (v) => {
      v.spec.vm.cpu_cores = vcpu + 6;
      v.spec.vm.ram = 16_384;
    });
    expect(useOf(heldNow(rig.store), ['U0ALICE'])).toMatchObject({ vcpu: vcpu + 6, ramMb: 16_384, vms: 1 });
    expect(rig.store.getRun(run.id)!.spec.vm.cpu_cores).toBe(vcpu);
    await rig.provisioner.transfer(run.id, 'U0BOB', 'U0LEAD');
    expect(useOf(heldNow(rig.store), ['U0ALICE'])).toMatchObject({ vcpu: 0, vms: 0 });
    expect(useOf(heldNow(rig.store), ['U0BOB'])).toMatchObject({ vcpu: vcpu + 6, vms: 1 });
    // A run still making its VM counts by its spec until its record exists, never twice.
    const next = await rig.provisioner.createRun(await recipeSpec('web-server', 'rec-04'), { actor: 'U0BOB' });
    expect(useOf(heldNow(rig.store), ['U0BOB'])).toMatchObject({ vcpu: vcpu + 6 + next.spec.vm.cpu_cores, vms: 2 });
    await rig.provisioner.execute(next.id);
    expect(useOf(heldNow(rig.store), ['U0BOB'])).toMatchObject({ vcpu: vcpu + 6 + next.spec.vm.cpu_cores, vms: 2 });
    await rig.provisioner.decommission(run.id, 'U0BOB');
    expect(useOf(heldNow(rig.store), ['U0BOB'])).toMatchObject({ vcpu: next.spec.vm.cpu_cores, vms: 1 });
  });

  it('a VM an older process made without a record (a rolling upgrade on one database) gets one at the next sweep, once', async () => {
    const done = await make('rec-05');
    // As an older version writes it: the run alone, owner and lease on it.
    const older: RunRecord = { ...structuredClone(done), id: 'run-older-1', owner: 'U0CAROL', keys: { vmKey: '4242', machineKey: '4343' } };
    await rig.store.insertRuns([older]);
    expect(rig.provisioner.vmsOwnedBy('U0CAROL')).toEqual([]);
    expect(await rig.provisioner.recordMissingVms()).toBe(1);
    expect(rig.provisioner.vmsOwnedBy('U0CAROL').map((v) => [v.runId, v.keys.vmKey, v.state])).toEqual([['run-older-1', '4242', 'live']]);
    expect(await rig.provisioner.recordMissingVms()).toBe(0);
    expect(rig.store.listVms()).toHaveLength(2);
  });
});
