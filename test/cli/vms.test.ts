/** `vmbot vms`, `transfer` and `decommission` as an operator runs them, against the simulator. */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIM_DEFAULT_API_KEY, type VergeosSim } from '../../src/sim/index.js';
import { runVmbot } from '../helpers/cli.js';
import { useCliSim } from '../helpers/cli-sim.js';
import { MANIFESTS, provisioningRig, type ProvisioningRig, recipeSpec } from '../helpers/core.js';

const DAY = 86_400_000;

describe('vmbot vms, transfer, decommission', () => {
  // Addresses known as soon as a VM runs (the polling's back-off is tested in test/workflows/).
  const rig = useCliSim();
  let sim: VergeosSim;
  let env: Record<string, string>;
  beforeAll(async () => {
    ({ sim, env } = rig);
    const made = await runVmbot(['apply', join(MANIFESTS, 'iso-install.yml'), '--name', 'own-{n}', '--count', '3', '--yes', '--json'], env);
    expect(made.code).toBe(0);
  });

  const list = async (...args: string[]) =>
    JSON.parse((await runVmbot(['vms', '--json', ...args], env)).stdout) as Array<{ name: string; vmKey: string; owner: string; state: string }>;

  it('--refresh asks VergeOS three times however many VMs: the live VMs, their power states, their NICs', async () => {
    const mark = sim.requests.length;
    const refreshed = await list('--refresh');
    expect(refreshed.map((v) => [v.name, v.state])).toEqual([
      ['own-1', 'running'],
      ['own-2', 'running'],
      ['own-3', 'running'],
    ]);
    expect(sim.requests.slice(mark).map((r) => r.route)).toEqual(['GET /vms', 'GET /machine_status', 'GET /machine_nics']);
  });

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

  it('--refresh shows live power state and marks a VM deleted outside the bot as gone; only --all lists it then', async () => {
    const [one, two] = await list();
    sim.state.vmAction({ vm: two!.vmKey, action: 'kill' });
    sim.state.deleteVm(two!.vmKey);
    const refreshed = await list('--refresh');
    expect(refreshed.map((v) => [v.name, v.state])).toEqual([[one!.name, 'running']]);
    // --refresh also read its addresses (kept on its record: a plain list shows them after).
    expect(refreshed[0]).toMatchObject({
      addresses: [{ nic: 'uplink', ipaddress: expect.stringMatching(/^10\.3\.\d+\.\d+$/), macaddress: expect.stringMatching(/^52:54:00:/) }],
      addressesReadAt: expect.any(String),
      consoleUrl: `${sim.url}/#/vm-console/${one!.vmKey}`,
    });
    expect((await list())[0]).toMatchObject({ addresses: (refreshed[0] as unknown as { addresses: unknown }).addresses });
    expect((await list()).map((v) => v.name)).toEqual(['own-1']);
    expect((await list('--all')).map((v) => [v.name, v.state])).toEqual([
      ['own-1', 'exists'],
      ['own-2', 'gone (deleted outside the bot)'],
    ]);
    // The text list the same way.
    const plain = await runVmbot(['vms'], env);
    // A VM's line, then (indented) how to reach it.
    const vmLines = (out: string) => out.split('\n').filter((l) => l && !l.startsWith(' '));
    expect([plain.code, vmLines(plain.stdout).map((l) => l.split(' ')[0])]).toEqual([0, ['own-1']]);
    const address = (await list()).map((v) => (v as unknown as { addresses: Array<{ ipaddress: string }> }).addresses[0]!.ipaddress)[0]!;
    expect(plain.stdout).toContain(`    reach: uplink ${address}, console ${sim.url}/#/vm-console/${one!.vmKey}\n`);
    const all = await runVmbot(['vms', '--all'], env);
    expect(vmLines(all.stdout).map((l) => l.split(' ')[0])).toEqual(['own-1', 'own-2']);
    expect(all.stdout).toContain('gone (deleted outside the bot)');
    const none = await runVmbot(['vms', '--owner', 'U0BOB'], env);
    expect(none.stdout).toBe('No VMs owned by U0BOB that still exist (1 deleted outside the bot: --all lists them).\n');
  });
});

describe('vmbot extend', () => {
  let rig: ProvisioningRig;
  let env: Record<string, string>;
  beforeAll(async () => {
    // Made in this process (fewer child processes on a busy machine): lab-01 as iso-install makes
    // it (a 7-day lease, at most 30 days), keep-01 kept until deleted.
    rig = await provisioningRig();
    const lab = await rig.provisioner.createRun(await recipeSpec('iso-install', 'lab-01'), { actor: 'cli:tester', lease: { forMs: 7 * DAY, maxMs: 30 * DAY } });
    const keep = await rig.provisioner.createRun(await recipeSpec('web-server', 'keep-01'), { actor: 'cli:tester' });
    for (const run of [lab, keep]) expect((await rig.provisioner.execute(run.id)).state).toBe('succeeded');
    await rig.audit.close();
    await rig.store.close();
    env = { VERGEOS_URL: rig.sim.url, VERGEOS_API_KEY: SIM_DEFAULT_API_KEY, DATA_DIR: rig.dir, MANIFESTS_DIR: MANIFESTS };
  });
  afterAll(async () => {
    await rig.sim.close();
    await rm(rig.dir, { recursive: true, force: true });
  });

  const endOf = async (name: string) =>
    (JSON.parse((await runVmbot(['vms', '--json'], env)).stdout) as Array<{ name: string; leaseEndsAt: string | null }>).find((v) => v.name === name)!
      .leaseEndsAt;

  it('--for adds to the current end; --until sets it; beyond the maximum is refused (exit 2)', async () => {
    const end = (await endOf('lab-01'))!;
    const more = await runVmbot(['extend', 'lab-01', '--for', '7d'], env);
    const moved = new Date(Date.parse(end) + 7 * DAY).toISOString();
    expect([more.code, more.stdout]).toEqual([0, `lab-01 is kept until ${moved} (was ${end}).\n`]);
    expect(await endOf('lab-01')).toBe(moved);

    const until = new Date(Date.now() + 3 * DAY).toISOString();
    const set = await runVmbot(['extend', 'lab-01', '--until', until], env);
    expect([set.code, set.stdout]).toEqual([0, `lab-01 is kept until ${until} (was ${moved}).\n`]);

    const beyond = await runVmbot(['extend', 'lab-01', '--for', '28d'], env); // 3 + 28 days from now > 30
    expect(beyond.code).toBe(2);
    expect(beyond.stderr).toMatch(/^lab-01: that is beyond its maximum lease of 30 days from now \(until \S+\); a lead has to allow longer\n$/);
    expect(await endOf('lab-01')).toBe(until);
  });

  it('a VM kept until deleted is refused without --set-lease, with why; --set-lease gives it a lease from now', async () => {
    const refused = await runVmbot(['extend', 'keep-01', '--for', '7d'], env);
    expect([refused.code, refused.stderr]).toEqual([
      2,
      'keep-01 is kept until deleted, so it has no lease to extend. To give it one, add --set-lease: it is then powered off when the lease ends and deleted 3 days later. Nothing was changed.\n',
    ]);
    expect((await runVmbot(['extend', 'keep-01', '--until', '2099-01-01'], env)).code).toBe(2);
    expect(await endOf('keep-01')).toBeNull();

    const before = Date.now();
    const set = await runVmbot(['extend', 'keep-01', '--for', '7d', '--set-lease'], env);
    const after = Date.now();
    expect(set.code).toBe(0);
    const endsAt = /^keep-01 is kept until (\S+) \(was kept until deleted\)\.\n$/.exec(set.stdout)?.[1];
    expect(Date.parse(endsAt!)).toBeGreaterThanOrEqual(before + 7 * DAY);
    expect(Date.parse(endsAt!)).toBeLessThanOrEqual(after + 7 * DAY);
    expect(await endOf('keep-01')).toBe(endsAt);
  });

  it('each bad flag names itself (exit 2); the help says what --for and --until do', async () => {
    const cases: Array<Promise<void>> = [];
    for (const [args, message] of [
      [['extend', 'lab-01'], 'give one of --for 7d (added to the current end) or --until DATE'],
      [['extend', 'lab-01', '--for', '7d', '--until', '2099-01-01'], 'give one of --for 7d (added to the current end) or --until DATE'],
      [['extend', 'lab-01', '--for', 'soon'], '--for must be a duration like 7d or 12h (got "soon")'],
      [['extend', 'lab-01', '--until', 'tomorrow'], '--until must be a date like 2026-12-31 or 2026-12-31T18:00:00Z (got "tomorrow")'],
      [['extend', 'nope', '--for', '1d'], 'no VM nope made through the bot (see `vmbot vms`)'],
      [['vms', '--expiring', 'later'], '--expiring must be a duration like 7d or 12h (got "later")'],
    ] as const) {
      cases.push(runVmbot([...args], env).then((out) => expect([out.code, out.stderr]).toEqual([2, `${message}\n`])));
    }
    await Promise.all(cases);
    const help = await runVmbot(['extend', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--for <duration>\s+add this to the current end, e\.g\. 7d/);
    expect(help.stdout).toMatch(/--until <date>\s+set the end to this date, e\.g\. 2026-12-31/);
    expect(help.stdout).toMatch(/--set-lease\s+give a VM kept until deleted a lease/);
  });
});
