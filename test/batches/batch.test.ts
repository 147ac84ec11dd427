/**
 * Batches: checked as a whole before anything is created, stopped when a failure would repeat
 * for every VM, and cleaned up as a whole.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupRuns, leftPartialVm, provisionBatch, runBatch } from '../../src/batches/batch.js';
import { isSystemic } from '../../src/batches/systemic.js';
import { checkCapacity } from '../../src/preflight/capacity.js';
import { preflightSpecs } from '../../src/preflight/check.js';
import { runResult } from '../../src/provision/result.js';
import { SIM_DEFAULT_API_KEY } from '../../src/sim/index.js';
import { GIB, TIB } from '../../src/sim/inventory.js';
import type { VmSpec } from '../../src/vmspec/schema.js';
import { completeSpec, expandNames } from '../../src/vmspec/validate.js';
import { runVmbot } from '../helpers/cli.js';
import { MANIFESTS, provisioningRig, type ProvisioningRig, recipeSpec } from '../helpers/core.js';

async function batchSpecs(recipe: string, pattern: string, count: number): Promise<VmSpec[]> {
  const base = await recipeSpec(recipe, 'x');
  const names = expandNames(pattern, count);
  if (!names.ok) throw new Error('names');
  return names.value.map((n) => {
    const s = completeSpec(base, n);
    if (!s.ok) throw new Error('spec');
    return s.value;
  });
}

const vmsNamed = (rig: ProvisioningRig, pattern: RegExp) => [...rig.sim.state.table('vms').values()].filter((v) => pattern.test(String(v.name)));

describe('batches', () => {
  let rig: ProvisioningRig;
  beforeEach(async () => {
    rig = await provisioningRig();
  });
  afterEach(() => rig.close());

  it('500 web servers on a tier with room for about 15: refused by pre-flight, naming each shortfall, nothing sent (CLI exit 2)', async () => {
    const env = { VERGEOS_URL: rig.sim.url, VERGEOS_API_KEY: SIM_DEFAULT_API_KEY, DATA_DIR: join(rig.dir, 'cli'), MANIFESTS_DIR: MANIFESTS };
    const out = await runVmbot(
      ['apply', join(MANIFESTS, 'web-server.yml'), '--name', 'big-{n}', '--count', '500', '--concurrency', '16', '--yes', '--json'],
      env,
    );
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    const file = join(MANIFESTS, 'web-server.yml');
    expect(out.stderr).toContain(
      `${file}:drives[0].disksize: tier 1 has 1.4 TiB free (512 GiB used, 512 GiB allocated of 2 TiB; 5% kept in reserve); 500 × 100 GiB needs 48.83 TiB`,
    );
    expect(out.stderr).toContain(`${file}:vm.ram: cluster 1 has 768 GiB of RAM free for running VMs; 500 × 8 GiB needs 3.91 TiB`);
    expect(out.stderr).toContain(`${file}:vm.cpu_cores: cluster 1 has 192 cores free for running VMs; 500 × 4 cores needs 2000 cores`);
    expect(out.stderr).toContain('Nothing was created.');
    expect(rig.sim.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('pre-flight refuses taken and repeated names, and devices beyond what a resource group has free', async () => {
    const specs = await batchSpecs('gpu-workstation', 'gpu-{n}', 5);
    const taken = { ...specs[1]!, vm: { ...specs[1]!.vm, name: 'legacy-db' } };
    const result = await preflightSpecs(rig.client, [specs[0]!, taken, ...specs.slice(2), specs[0]!]);
    const messages = result.errors.map((e) => `${e.path}: ${e.message}`);
    expect(messages).toContain('vm.name: the same name is asked for twice (gpu-1); put {n} in the name pattern');
    expect(messages).toContain('vm.name: 1 of the 6 names are already taken in VergeOS: legacy-db (VM key 40); pick another name pattern');
    expect(messages).toContain('devices[0].resource_group: NVIDIA A40 (passthrough) has 4 devices free of 4; 6 × 1 device needs 6 devices');
    expect(rig.sim.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('single-VM pre-flight uses the same arithmetic (one VM that does not fit its tier)', () => {
    const tiers = [{ key: '1', tier: '1', description: '', capacity: 2 * TIB, used: 2 * TIB - 10 * GIB, allocated: 2 * TIB - 10 * GIB, free: 10 * GIB }];
    const spec = {
      vm: { name: 'one', cpu_cores: 1, ram: 1024 },
      drives: [{ name: 'd', media: 'disk', interface: 'virtio-scsi', disksize: 20 * GIB, preferred_tier: '1' }],
      nics: [],
      devices: [],
      power_on: false,
    } as unknown as VmSpec;
    const out = checkCapacity([spec], { tiers, files: [], groups: [], devicesInUse: new Map(), clusterStatus: [] }, { tierMargin: 0 });
    expect(out.errors).toEqual([
      {
        path: 'drives[0].disksize',
        message: 'tier 1 has 10 GiB free (1.99 TiB used, 1.99 TiB allocated of 2 TiB); this VM needs 20 GiB: choose smaller disks, another tier or fewer VMs',
      },
    ]);
  });

  it('someone else fills the tier mid-batch: at most `concurrency` partial VMs, the rest not started, then cleanup leaves none', async () => {
    const specs = await batchSpecs('web-server', 'mid-{n}', 12);
    expect((await preflightSpecs(rig.client, specs)).errors).toEqual([]); // 12 × 100 GiB fit when checked
    rig.sim.faults.add({ route: '*', latencyMs: 5 });
    let finished = 0;
    const concurrency = 3;
    const outcome = await provisionBatch(rig.provisioner, specs, {
      actor: 'test',
      concurrency,
      onRunFinished: () => {
        // After two VMs, another team takes what is left of tier 1.
        if (++finished === 2) {
          const tier = rig.sim.state.table('storage_tiers').get('1')!;
          tier.used = tier.allocated = Number(tier.capacity);
        }
      },
    });
    expect(outcome.batchId).toMatch(/^batch-/);
    expect(outcome.stoppedBy?.message).toMatch(/storage tier .*full/i);
    const partial = outcome.runs.filter(leftPartialVm);
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThanOrEqual(concurrency);
    expect(outcome.failed).toBe(partial.length);
    expect(outcome.succeeded + outcome.failed + outcome.notStarted).toBe(12);
    expect(outcome.notStarted).toBeGreaterThan(0);
    const notStarted = outcome.runs.filter((r) => r.state === 'not_started');
    expect(notStarted[0]!.error?.message).toMatch(/^Not started: the batch stopped after mid-\d+ failed: /);
    // Not-started VMs sent nothing at all.
    for (const run of notStarted)
      expect(rig.sim.requests.some((r) => r.method === 'POST' && JSON.stringify(r.body ?? '').includes(`"${run.spec.vm.name}"`))).toBe(false);
    expect(vmsNamed(rig, /^mid-/)).toHaveLength(outcome.succeeded + partial.length);

    // Cleanup through the CLI, as an operator would, resumable and bounded.
    const env = { VERGEOS_URL: rig.sim.url, VERGEOS_API_KEY: SIM_DEFAULT_API_KEY, DATA_DIR: rig.dir, VMBOT_POLL_INTERVAL: '20ms' };
    await rig.store.close();
    await rig.audit.close();
    const cleaned = await runVmbot(['cleanup', '--batch', outcome.batchId, '--yes'], env);
    expect(cleaned.stderr).toBe('');
    expect(cleaned.code).toBe(0);
    expect(cleaned.stdout.split('\n').filter((l) => l.startsWith('Cleaned up run ')).length).toBe(outcome.failed + outcome.notStarted);
    expect(vmsNamed(rig, /^mid-/)).toHaveLength(outcome.succeeded);
    const again = await runVmbot(['cleanup', '--batch', outcome.batchId, '--yes'], env);
    expect(again.stdout).toBe(`Nothing to clean up in batch ${outcome.batchId}.\n`);
    expect(rig.sim.requests.filter((r) => r.method === 'DELETE')).toHaveLength(partial.length);
  });

  it('a name taken meanwhile fails its own VM only; the batch goes on', async () => {
    const specs = await batchSpecs('iso-install', 'own-{n}', 6);
    rig.sim.state.createVm({ name: 'own-3', cluster: '1', ram: 1024, cpu_cores: 1 }); // taken after pre-flight
    const outcome = await provisionBatch(rig.provisioner, specs, { actor: 'test', concurrency: 2 });
    expect(outcome.stoppedBy).toBeUndefined();
    expect(outcome).toMatchObject({ succeeded: 5, failed: 1, notStarted: 0 });
    expect(outcome.runs.find((r) => r.state === 'failed')?.error?.code).toBe('VERGEOS_NAME_TAKEN');
    expect(isSystemic({ code: 'VERGEOS_NAME_TAKEN', message: '' })).toBe(false);
    expect(isSystemic({ code: 'VERGEOS_NOT_FOUND', message: '', vergeosMessage: "Network '77' not found" })).toBe(true);
    expect(isSystemic({ code: 'VERGEOS_NOT_FOUND', message: '', vergeosMessage: "Machine '51' not found" })).toBe(false);
  });

  it('--keep-going starts every VM; one injected 507 fails only its own VM, which then resumes alone', async () => {
    const specs = await batchSpecs('web-server', 'web-{n}', 5);
    rig.sim.faults.add({ route: 'POST /machine_drives', nth: 3, status: 507, body: { err: 'Insufficient storage on tier 1' } });
    rig.sim.faults.add({ route: '*', latencyMs: 5 });
    const { runs, batchId } = await provisionBatch(rig.provisioner, specs, { actor: 'test', concurrency: 3, keepGoing: true });

    expect(runs.map((r) => r.spec.vm.name)).toEqual(['web-1', 'web-2', 'web-3', 'web-4', 'web-5']);
    const failed = runs.filter((r) => r.state === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.error?.code).toBe('VERGEOS_TIER_FULL');
    expect(runs.filter((r) => r.state === 'succeeded')).toHaveLength(4);
    expect(new Set(runs.map((r) => r.group))).toEqual(new Set([batchId]));
    expect(rig.sim.peakInFlight).toBeGreaterThan(1); // they really ran side by side
    for (const run of runs) {
      const result = runResult(run);
      const drives = await rig.client.listDrives(result.machineKey!);
      expect(drives.map((d) => d.key)).toEqual(result.drives.map((d) => d.key));
      expect(drives).toHaveLength(run.state === 'succeeded' ? 1 : 0);
    }
    const allChildKeys = runs.flatMap((r) =>
      Object.values(r.steps)
        .map((s) => s.key)
        .filter(Boolean),
    );
    expect(new Set(allChildKeys).size).toBe(allChildKeys.length);

    // Retrying the batch runs only its failed VM.
    const retried = await runBatch(rig.provisioner, batchId, [failed[0]!.id], { actor: 'test' });
    expect(retried).toMatchObject({ succeeded: 5, failed: 0, notStarted: 0 });
    expect(vmsNamed(rig, /^web-\d$/)).toHaveLength(5);
    expect((await cleanupRuns(rig.provisioner, retried.runs, { actor: 'test' })).cleaned).toEqual([]);
  });

  it('refuses name patterns that repeat or break the naming rules', () => {
    expect(expandNames('web', 3)).toEqual({ ok: true, value: ['web-1', 'web-2', 'web-3'] });
    expect(expandNames('web/{n}', 2)).toMatchObject({ ok: false, errors: [{ path: 'vm.name' }] });
    expect(expandNames('db-{n}', 0)).toMatchObject({ ok: false, errors: [{ path: 'count', message: 'count must be a whole number from 1 to 500' }] });
  });
});
