/** VMs deleted outside the bot: one list call per sweep however many VMs the bot made, compared by VM key. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { provisionBatch } from '../../src/batches/batch.js';
import { parseSpec } from '../../src/vmspec/validate.js';
import type { VmSpec } from '../../src/vmspec/schema.js';
import { provisioningRig, type ProvisioningRig } from '../helpers/core.js';

const spec = (name: string): VmSpec => {
  const parsed = parseSpec({ vm: { name, cpu_cores: 1, ram: '1GiB' }, power_on: false });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.value;
};

describe('noticeDeletedVms', () => {
  let rig: ProvisioningRig;
  beforeEach(async () => {
    rig = await provisioningRig();
  });
  afterEach(() => rig.close());

  it('asks VergeOS once for 45 VMs (it asked once per 20 names), and marks only those whose key is gone', async () => {
    const batch = await provisionBatch(
      rig.provisioner,
      Array.from({ length: 45 }, (_, i) => spec(`gone-${String(i + 1).padStart(2, '0')}`)),
      { actor: 'tester', concurrency: 8 },
    );
    expect(batch.succeeded).toBe(45);
    const keyOf = (name: string) => batch.runs.find((r) => r.spec.vm.name === name)!.keys.vmKey!;
    // gone-03 deleted outside the bot; gone-07 too, and someone made another VM of that name.
    for (const name of ['gone-03', 'gone-07']) rig.sim.state.deleteVm(keyOf(name));
    const stranger = rig.sim.state.createVm({ name: 'gone-07', cpu_cores: 1, ram: 1024 });
    expect(stranger.vmKey).not.toBe(keyOf('gone-07'));
    rig.sim.requests.length = 0;

    const noticed = await rig.provisioner.noticeDeletedVms();
    expect(noticed.map((v) => [v.name, v.keys.vmKey]).sort()).toEqual([
      ['gone-03', keyOf('gone-03')],
      ['gone-07', keyOf('gone-07')],
    ]);
    expect(rig.sim.requests.map((r) => [r.route, r.query.filter, r.query.fields])).toEqual([['GET /vms', 'is_snapshot eq false', '$key,name,machine']]);
    expect(
      rig.store
        .listVms((v) => v.state === 'gone')
        .map((v) => v.name)
        .sort(),
    ).toEqual(['gone-03', 'gone-07']);

    // Once marked, they are not noticed again; still one call.
    rig.sim.requests.length = 0;
    expect(await rig.provisioner.noticeDeletedVms()).toEqual([]);
    expect(rig.sim.requests.map((r) => r.route)).toEqual(['GET /vms']);
  });

  it('asks nothing when the bot holds no VM', async () => {
    expect(await rig.provisioner.noticeDeletedVms()).toEqual([]);
    expect(rig.sim.requests).toEqual([]);
  });

  it('a failed list call marks nothing (fails closed)', async () => {
    const batch = await provisionBatch(rig.provisioner, [spec('kept-01')], { actor: 'tester', concurrency: 1 });
    expect(batch.succeeded).toBe(1);
    rig.sim.faults.add({ route: 'GET /vms', status: 500, body: { err: 'down' } });
    await expect(rig.provisioner.noticeDeletedVms()).rejects.toThrow();
    expect(rig.store.listVms((v) => v.state === 'gone')).toEqual([]);
  });
});
