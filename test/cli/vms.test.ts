/** `vmbot vms`, `transfer` and `decommission` as an operator runs them, against the simulator. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIM_DEFAULT_API_KEY, startVergeosSim, type VergeosSim } from '../../src/sim/index.js';
import { runVmbot } from '../helpers/cli.js';
import { MANIFESTS, tempDir } from '../helpers/core.js';

describe('vmbot vms, transfer, decommission', () => {
  let sim: VergeosSim;
  let remove: () => Promise<void>;
  let env: Record<string, string>;
  beforeAll(async () => {
    sim = await startVergeosSim({ timing: { importMs: 50, startMs: 0, stopMs: 0 } });
    const temp = await tempDir();
    remove = temp.remove;
    env = {
      VERGEOS_URL: sim.url,
      VERGEOS_API_KEY: SIM_DEFAULT_API_KEY,
      DATA_DIR: join(temp.dir, 'data'),
      MANIFESTS_DIR: MANIFESTS,
      VMBOT_POLL_INTERVAL: '20ms',
    };
    const made = await runVmbot(['apply', join(MANIFESTS, 'iso-install.yml'), '--name', 'own-{n}', '--count', '3', '--yes', '--json'], env);
    expect(made.code).toBe(0);
  });
  afterAll(async () => {
    await sim.close();
    await remove();
  });

  const list = async (...args: string[]) =>
    JSON.parse((await runVmbot(['vms', '--json', ...args], env)).stdout) as Array<{ name: string; vmKey: string; owner: string; state: string }>;

  it('lists the VMs with owner and keys; transfer hands one on (by name or key), and --owner filters', async () => {
    const vms = await list();
    expect(vms.map((v) => v.name)).toEqual(['own-1', 'own-2', 'own-3']);
    const me = vms[0]!.owner;
    expect(me).toMatch(/^cli:/);
    const moved = await runVmbot(['transfer', vms[1]!.vmKey, '--to', 'U0BOB'], env);
    expect(moved.stdout).toBe(`own-2 (VM key ${vms[1]!.vmKey}) now belongs to U0BOB (was ${me}).\n`);
    expect((await list('--owner', 'U0BOB')).map((v) => v.name)).toEqual(['own-2']);
    // iso-install keeps its VMs a week: all end within 8 days, none within 1.
    expect((await list('--expiring', '8d')).map((v) => v.name)).toEqual(['own-1', 'own-2', 'own-3']);
    expect(await list('--expiring', '1d')).toEqual([]);
    expect((await runVmbot(['transfer', 'nope', '--to', 'U0BOB'], env)).stderr).toBe('no VM nope made through the bot (see `vmbot vms`)\n');
  });

  it('decommission deletes the VM with its children exactly once, and resumes after a failure', async () => {
    const [vm] = (await list()).filter((v) => v.name === 'own-3');
    sim.faults.add({ route: 'DELETE /vms/:key', nth: 1, times: 20, status: 500, body: { err: 'database busy' } });
    const failed = await runVmbot(['decommission', 'own-3', '--yes'], env);
    expect(failed.code).toBe(1);
    expect(
      failed.stderr
        .split('\n')
        .filter((l) => !l.startsWith('{'))
        .join('\n'),
    ).toMatch(/^Decommission failed: .*database busy.*Try again\. \(run the same command again to resume it\)\n$/);
    expect((await list()).find((v) => v.name === 'own-3')?.state).toBe('being decommissioned');
    sim.faults.clear();
    const done = await runVmbot(['decommission', 'own-3', '--yes'], env);
    expect(done.stdout).toBe(`Decommissioned own-3: deleted VM key ${vm!.vmKey} with its drives, NICs and devices.\n`);
    expect(sim.state.table('vms').has(vm!.vmKey)).toBe(false);
    expect((await list()).map((v) => v.name)).toEqual(['own-1', 'own-2']);
    expect((await runVmbot(['decommission', 'own-3', '--yes'], env)).code).toBe(2);
  });

  it('--refresh shows live power state and marks a VM deleted outside the bot as gone', async () => {
    const [one, two] = await list();
    sim.state.vmAction({ vm: two!.vmKey, action: 'kill' });
    sim.state.deleteVm(two!.vmKey);
    const refreshed = await list('--refresh');
    expect(refreshed.find((v) => v.name === one!.name)?.state).toBe('running');
    expect(refreshed.find((v) => v.name === two!.name)?.state).toBe('gone (deleted outside the bot)');
  });
});
