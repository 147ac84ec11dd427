import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { provisionBulk } from '../../src/provision/bulk.js';
import { runResult } from '../../src/provision/result.js';
import { completeSpec, expandNames } from '../../src/spec/validate.js';
import { provisioningRig, recipeSpec } from '../helpers/core.js';

describe('bulk provisioning', () => {
  let rig: Awaited<ReturnType<typeof provisioningRig>>;
  beforeEach(async () => {
    rig = await provisioningRig();
  });
  afterEach(() => rig.close());

  it('runs 5 VMs as separate runs; one injected failure stops only its own run', async () => {
    const base = await recipeSpec('web-server', 'placeholder');
    const names = expandNames('web-{n}', 5);
    if (!names.ok) throw new Error('names');
    const specs = names.value.map((n) => {
      const s = completeSpec(base, n);
      if (!s.ok) throw new Error('spec');
      return s.value;
    });
    rig.sim.faults.add({ route: 'POST /machine_drives', nth: 3, status: 507, body: { err: 'Insufficient storage on tier 1' } });
    rig.sim.faults.add({ route: '*', latencyMs: 5 });
    const runs = await provisionBulk(rig.provisioner, specs, { actor: 'test', concurrency: 3 });

    expect(runs.map((r) => r.spec.vm.name)).toEqual(['web-1', 'web-2', 'web-3', 'web-4', 'web-5']);
    const failed = runs.filter((r) => r.state === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.error?.code).toBe('VERGEOS_TIER_FULL');
    expect(runs.filter((r) => r.state === 'succeeded')).toHaveLength(4);
    expect(new Set(runs.map((r) => r.group)).size).toBe(1);
    expect(rig.sim.peakInFlight).toBeGreaterThan(1); // they really ran side by side
    for (const run of runs) {
      const result = runResult(run);
      expect(result.vmKey).not.toBeNull();
      const drives = await rig.client.listDrives(result.machineKey!);
      expect(drives.map((d) => d.key)).toEqual(result.drives.map((d) => d.key));
      expect(drives).toHaveLength(run.state === 'succeeded' ? 1 : 0);
      // Each VM's children are its own: no key appears in two runs.
    }
    const allChildKeys = runs.flatMap((r) => Object.values(r.steps).map((s) => s.key).filter(Boolean));
    expect(new Set(allChildKeys).size).toBe(allChildKeys.length);

    // The failed one resumes alone and completes.
    const resumed = await rig.provisioner.execute(failed[0]!.id);
    expect(resumed.state).toBe('succeeded');
    expect([...rig.sim.state.table('vms').values()].filter((v) => /^web-\d$/.test(String(v.name)))).toHaveLength(5);
  });

  it('refuses name patterns that repeat or break the naming rules', () => {
    expect(expandNames('web', 3)).toEqual({ ok: true, value: ['web-1', 'web-2', 'web-3'] });
    expect(expandNames('web/{n}', 2)).toMatchObject({ ok: false, errors: [{ path: 'vm.name' }] });
    expect(expandNames('db-{n}', 0)).toMatchObject({ ok: false, errors: [{ path: 'count', message: 'count must be a whole number from 1 to 500' }] });
  });
});
