/** A NIC's static address goes in its `POST /machine_nics` body and shows in the plan; without one, the body has no `ipaddress`. */
import { describe, expect, it } from 'vitest';
import { apiCallFor, planSpec } from '../../src/plan/plan.js';
import { planJson, renderPlanText } from '../../src/plan/render.js';
import { parseSpec } from '../../src/vmspec/validate.js';

function planOf(input: unknown) {
  const r = parseSpec(input);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return planSpec(r.value);
}

describe("a NIC's static address in the plan", () => {
  const plan = planOf({
    vm: { name: 'web-01' },
    nics: [
      { vnet: 3, name: 'lan', ipaddress: '10.3.0.20' },
      { vnet: 4, enabled: false },
    ],
  });

  it('is sent in the POST /machine_nics body when given, and left out when not', () => {
    const calls = plan.steps.filter((s) => s.kind === 'add_nic').map((s) => apiCallFor(s, { machineKey: '52' }));
    expect(calls).toEqual([
      {
        method: 'POST',
        path: '/api/v4/machine_nics',
        body: { machine: '52', vnet: '3', name: 'lan', interface: 'virtio', enabled: true, ipaddress: '10.3.0.20' },
      },
      { method: 'POST', path: '/api/v4/machine_nics', body: { machine: '52', vnet: '4', name: 'nic-2', interface: 'virtio', enabled: false } },
    ]);
    expect(planJson(plan).steps.map((s) => s.body?.ipaddress)).toEqual([undefined, '10.3.0.20', undefined]);
  });

  it('shows next to its NIC in the plan text', () => {
    const lines = renderPlanText(plan).split('\n');
    expect(lines[2]).toBe('   2. POST /api/v4/machine_nics  NIC "lan" on vnet 3 (virtio, static address 10.3.0.20)');
    expect(lines[3]).toBe('   3. POST /api/v4/machine_nics  NIC "nic-2" on vnet 4 (virtio, disabled)');
  });
});
