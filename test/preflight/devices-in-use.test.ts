/**
 * Devices in use are those that hold hardware: devices of running machines. A stopped VM's and a
 * snapshot's devices hold none (the simulator starts with a stopped VM holding one passthrough GPU
 * and a snapshot holding two), so pre-flight must not count them against the group.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { preflightSpecs } from '../../src/preflight/check.js';
import { GPU_RESOURCE_GROUP, type VergeosSim } from '../../src/sim/index.js';
import type { VergeosClient } from '../../src/vergeos/index.js';
import type { VmSpec } from '../../src/vmspec/schema.js';
import { recipeSpec } from '../helpers/core.js';
import { simAndClient } from '../helpers/vergeos.js';

/** `count` GPU workstations without drives: only names, the network and the GPU are checked. */
async function gpuSpecs(count: number): Promise<VmSpec[]> {
  const base = await recipeSpec('gpu-workstation', 'x');
  return Array.from({ length: count }, (_, i) => ({ ...base, vm: { ...base.vm, name: `gpu-${i + 1}` }, drives: [] }));
}

describe('devices in use', () => {
  let sim: VergeosSim;
  let client: VergeosClient;
  let close: () => Promise<void>;

  beforeEach(async () => {
    ({ sim, client, close } = await simAndClient());
  });
  afterEach(() => close());

  /** A VM on the GPU cluster holding one passthrough GPU (and a TPM, which has no group). */
  async function gpuVm(name: string): Promise<{ vmKey: string; machineKey: string }> {
    const vm = await client.createVm({ name, cluster: '2', ram: 8192, cpu_cores: 2 });
    await client.addDevice({ machine: vm.machineKey, type: 'node_host_gpu_devices', resource_group: GPU_RESOURCE_GROUP });
    await client.addDevice({ machine: vm.machineKey, type: 'tpm' });
    return vm;
  }

  it('counts only running machines’ devices, in one list call filtered by VergeOS on the machine#status#running join', async () => {
    const gpuRows = () => [...sim.state.table('machine_devices').values()].filter((d) => d.type === 'node_host_gpu_devices');
    expect(gpuRows()).toHaveLength(3); // the stopped legacy-db's one, the snapshot's two
    expect(await client.countDevicesInUse()).toEqual(new Map());

    const vm = await gpuVm('gpu-live');
    await client.powerOn(vm.vmKey);
    expect(await client.countDevicesInUse()).toEqual(new Map([[GPU_RESOURCE_GROUP, 1]]));
    // A snapshot of the running VM copies its devices onto a machine that never runs.
    await client.createSnapshot({ machine: vm.machineKey, name: 'before-upgrade' });
    expect(gpuRows()).toHaveLength(5);
    expect(await client.countDevicesInUse()).toEqual(new Map([[GPU_RESOURCE_GROUP, 1]]));
    await client.vmAction(vm.vmKey, 'kill');
    expect(await client.countDevicesInUse()).toEqual(new Map());

    const calls = sim.requestsTo('GET /machine_devices');
    expect(calls).toHaveLength(4);
    expect(calls[0]!.query).toEqual({
      limit: '0',
      filter: 'running eq true',
      fields: 'resource_group,resource_group#uuid as resource_group_uuid,machine#status#running as running',
    });
  });

  it('the simulator answers a filter on a joined alias as VergeOS does, and rows carry machine_type', async () => {
    const vm = await gpuVm('gpu-rows');
    await client.powerOn(vm.vmKey);
    const query = new URLSearchParams({ filter: 'running eq true', fields: '$key,machine,machine_type,type,machine#status#running as running' });
    const res = await fetch(`${sim.url}/api/v4/machine_devices?${query.toString()}`, { headers: { authorization: 'Bearer sim-admin-key' } });
    const rows = (await res.json()) as Array<Record<string, unknown>>;
    expect(rows.map((r) => [r.machine, r.machine_type, r.type, r.running])).toEqual([
      [Number(vm.machineKey), 'vm', 'node_host_gpu_devices', true],
      [Number(vm.machineKey), 'vm', 'tpm', true],
    ]);
  });

  it('pre-flight lets four GPU VMs through although stopped VMs and a snapshot have three GPU rows, and refuses once a running VM holds one', async () => {
    const specs = await gpuSpecs(4);
    expect((await preflightSpecs(client, specs)).errors).toEqual([]);

    const vm = await gpuVm('gpu-live');
    await client.powerOn(vm.vmKey);
    expect((await preflightSpecs(client, specs)).errors).toEqual([
      { path: 'devices[0].resource_group', message: 'NVIDIA A40 (passthrough) has 3 devices free of 4; 4 × 1 device needs 4 devices' },
    ]);
  });
});
