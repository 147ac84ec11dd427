/** A spec with every kind of step, and checks that it was built exactly once. */
import { expect } from 'vitest';
import type { VmSpec } from '../../src/vmspec/schema.js';
import type { RequestRecord } from '../../src/store/records.js';
import { parseSpec } from '../../src/vmspec/validate.js';
import { GPU_RESOURCE_GROUP, type VergeosSim } from '../../src/sim/index.js';

/** Every kind of step: VM, disk, import, NIC, device, wait for import, power on (as spec input). */
export function fullSpecInput(name: string) {
  return {
    vm: { name, cluster: '2', cpu_cores: 4, ram: '8GiB', uefi: true, guest_agent: true },
    drives: [
      { name: 'OS Drive', media: 'disk', disksize: '40GiB', preferred_tier: '1' },
      { name: 'Image', media: 'import', media_source: 123, preferred_tier: '2' },
    ],
    nics: [{ name: 'uplink', vnet: '3' }],
    devices: [{ type: 'node_host_gpu_devices', resource_group: GPU_RESOURCE_GROUP }],
    power_on: true,
  };
}

export function fullSpec(name: string): VmSpec {
  const parsed = parseSpec(fullSpecInput(name));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.value;
}

/** The route and its occurrence (1-based, from a fresh run) for each POST step of fullSpec. */
export const POST_STEPS: Array<{ stepId: string; route: string; nth: number }> = [
  { stepId: 'create_vm', route: 'POST /vms', nth: 1 },
  { stepId: 'drive:0', route: 'POST /machine_drives', nth: 1 },
  { stepId: 'drive:1', route: 'POST /machine_drives', nth: 2 },
  { stepId: 'nic:0', route: 'POST /machine_nics', nth: 1 },
  { stepId: 'device:0', route: 'POST /machine_devices', nth: 1 },
  { stepId: 'power_on', route: 'POST /vm_actions', nth: 1 },
];

/** Exactly one VM of that name, with the spec's children, and each created exactly once. */
export async function expectExactlyOnce(sim: VergeosSim, name: string): Promise<void> {
  const vms = [...sim.state.table('vms').values()].filter((v) => v.name === name);
  expect(vms).toHaveLength(1);
  const machine = String(vms[0]!.machine);
  const childrenOf = (table: 'machine_drives' | 'machine_nics' | 'machine_devices') =>
    [...sim.state.table(table).values()].filter((r) => String(r.machine) === machine);
  expect(
    childrenOf('machine_drives')
      .map((d) => d.name)
      .sort(),
  ).toEqual(['Image', 'OS Drive']);
  expect(childrenOf('machine_nics').map((n) => n.name)).toEqual(['uplink']);
  // The device's group is stored as the group's key; its uuid through the join. The type came from the group.
  expect(childrenOf('machine_devices').map((d) => [d.type, sim.state.resolvePath(d, ['resource_group', 'uuid'], 'machine_devices')])).toEqual([
    ['node_host_gpu_devices', GPU_RESOURCE_GROUP],
  ]);
  const status = [...sim.state.table('machine_status').values()].find((s) => String(s.machine) === machine);
  expect(status?.status).toBe('running');
}

/** A pending request for `spec`, as the store keeps one (for tests that write a store directly). */
export function pendingRequest(id: string, spec: VmSpec): RequestRecord {
  const now = new Date().toISOString();
  return {
    kind: 'vm',
    id,
    version: 0,
    state: 'pending',
    createdAt: now,
    updatedAt: now,
    expiresAt: now,
    requester: 'U0REQUESTER',
    spec,
    approvals: [],
    warnings: [],
  };
}
