/**
 * `vmbot snapshot create|list|restore|delete` as an operator runs them, against the simulator:
 * the bodies on the wire (expiry as absolute unix seconds, or never), --json, a restore that says
 * what is lost and refuses a running VM unless --power-off, and apply's exit codes.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type VergeosSim } from '../../src/sim/index.js';
import { runVmbot } from '../helpers/cli.js';
import { useCliSim } from '../helpers/cli-sim.js';
import { MANIFESTS } from '../helpers/core.js';

const HOUR = 3_600_000;

interface Listed {
  name: string;
  key: string;
  created: string;
  expires: string | null;
  quiesced: boolean;
}

describe('vmbot snapshot', () => {
  let sim: VergeosSim;
  let env: Record<string, string>;
  let vmKey: string;
  let machineKey: string;
  const rig = useCliSim();
  beforeAll(async () => {
    ({ sim, env } = rig);
    const made = await runVmbot(['apply', join(MANIFESTS, 'iso-install.yml'), '--name', 'snap-1', '--yes', '--json'], env);
    expect(made.code).toBe(0);
    ({ vmKey, machineKey } = JSON.parse(made.stdout) as { vmKey: string; machineKey: string });
  });

  const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;
  const list = async () => JSON.parse((await runVmbot(['snapshot', 'list', 'snap-1', '--json'], env)).stdout) as Listed[];
  /** `yyyymmdd-hhmm` in UTC, as the default name has it. */
  const stamp = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');

  it('takes a snapshot named VM-yyyymmdd-hhmm kept 24 hours by default, its expiry sent as absolute unix seconds', async () => {
    const before = Date.now();
    const out = await runVmbot(['snapshot', 'create', 'snap-1', '--json'], env);
    const after = Date.now();
    expect(out.code).toBe(0);
    const result = json(out.stdout);
    const change = result.change as { name: string; expires: string };
    expect([`snap-1-${stamp(before)}`, `snap-1-${stamp(after)}`]).toContain(change.name);
    expect(Date.parse(change.expires)).toBeGreaterThanOrEqual(before + 24 * HOUR);
    expect(Date.parse(change.expires)).toBeLessThanOrEqual(after + 24 * HOUR);
    const sent = sim.requestsTo('POST /machine_snapshots');
    expect(sent.map((r) => r.body)).toEqual([
      {
        machine: Number(machineKey),
        name: change.name,
        created_manually: true,
        quiesce: false,
        expires: Math.floor(Date.parse(change.expires) / 1000),
        expires_type: 'date',
      },
    ]);
    expect(result).toEqual({
      vm: 'snap-1',
      vmKey,
      change: { action: 'snapshot_create', name: change.name, expires: change.expires, quiesce: false },
      status: 'done',
      key: expect.stringMatching(/^\d+$/),
      shown: `take snapshot ${change.name} (expires ${change.expires.replace(/\.\d{3}Z$/, 'Z')})`,
      calls: [expect.stringMatching(/^POST \/api\/v4\/machine_snapshots \{/)],
      warnings: [],
    });
    // The call shown is the body sent (the machine key as the core writes it, number or string).
    const shownBody = JSON.parse((result.calls as string[])[0]!.replace('POST /api/v4/machine_snapshots ', '')) as Record<string, unknown>;
    expect({ ...shownBody, machine: Number(shownBody.machine) }).toEqual(sent[0]!.body);
  });

  it('--expires never and --quiesce; --expires 7d from now; list shows name, key, taken, expiry or never, quiesced', async () => {
    const keep = await runVmbot(['snapshot', 'create', 'snap-1', '--name', 'keep', '--expires', 'never', '--quiesce'], env);
    expect(keep.code).toBe(0);
    expect(keep.stdout).toMatch(/\nTook snapshot keep of snap-1 \(key \d+\); it never expires\.\n$/);
    expect(sim.requestsTo('POST /machine_snapshots').at(-1)!.body).toEqual({
      machine: Number(machineKey),
      name: 'keep',
      created_manually: true,
      quiesce: true,
      expires_type: 'never',
    });
    const before = Date.now();
    expect((await runVmbot(['snapshot', 'create', 'snap-1', '--name', 'week', '--expires', '7d'], env)).code).toBe(0);
    const after = Date.now();
    const { expires } = sim.requestsTo('POST /machine_snapshots').at(-1)!.body as { expires: number };
    expect(expires).toBeGreaterThanOrEqual(Math.floor((before + 168 * HOUR) / 1000));
    expect(expires).toBeLessThanOrEqual(Math.floor((after + 168 * HOUR) / 1000));

    const listed = await list();
    expect(listed).toHaveLength(3);
    expect(listed.find((s) => s.name === 'keep')).toEqual({
      name: 'keep',
      key: expect.any(String),
      created: expect.any(String),
      expires: null,
      quiesced: true,
    });
    expect(listed.find((s) => s.name === 'week')).toEqual({
      name: 'week',
      key: expect.any(String),
      created: expect.any(String),
      expires: new Date(expires * 1000).toISOString(),
      quiesced: false,
    });
    const text = await runVmbot(['snapshot', 'list', 'snap-1'], env);
    expect(text.stdout.split('\n').find((l) => l.startsWith('keep '))).toMatch(/^keep +key \d+ +taken \S+ {2}never expires {2}quiesced$/);
  });

  it('restore refuses a running VM (exit 2, nothing sent); with --power-off it powers it off, then restores in place, saying what is lost', async () => {
    const keep = (await list()).find((s) => s.name === 'keep')!;
    const actions = () => sim.requestsTo('POST /vm_actions').length;
    const sentBefore = actions();
    const refused = await runVmbot(['snapshot', 'restore', 'snap-1', 'keep', '--yes', '--json'], env);
    expect([refused.code, refused.stdout, refused.stderr]).toEqual([
      2,
      '',
      'snap-1 is running: power it off first (a snapshot is restored in place only on a VM that is off)\nNothing was changed. Add --power-off to have it powered off first.\n',
    ]);
    expect(actions()).toBe(sentBefore);

    const out = await runVmbot(['snapshot', 'restore', 'snap-1', keep.key, '--power-off', '--yes', '--json'], env);
    expect(out.code).toBe(0);
    expect(out.stderr).toContain(`Everything written to snap-1 since ${keep.created} (when keep was taken) will be lost.\n`);
    expect(json(out.stdout)).toMatchObject({ change: { action: 'snapshot_restore', snapshot: 'keep', snapshotKey: keep.key }, status: 'done' });
    // The restore names the snapshot's own (hidden) VM, as VergeOS's clients do.
    const snapMachine = String(sim.state.table('machine_snapshots').get(keep.key)!.snap_machine);
    const snapVm = [...sim.state.table('vms').entries()].find(([, v]) => v.is_snapshot && String(v.machine) === snapMachine)![0];
    expect(
      sim
        .requestsTo('POST /vm_actions')
        .slice(sentBefore)
        .map((r) => r.body),
    ).toEqual([
      { vm: Number(vmKey), action: 'poweroff', params: {} },
      { vm: Number(snapVm), action: 'restore', params: { snapshot: Number(keep.key) } },
    ]);
    expect(sim.state.statusOfMachine(machineKey).status).toBe('stopped');
  });

  it('deletes a snapshot by name (restore above took its key); one it does not have is exit 2 naming those it has', async () => {
    const week = (await list()).find((s) => s.name === 'week')!;
    const out = await runVmbot(['snapshot', 'delete', 'snap-1', 'week', '--yes', '--json'], env);
    expect(out.code).toBe(0);
    expect(json(out.stdout)).toMatchObject({
      change: { action: 'snapshot_delete', snapshot: 'week', snapshotKey: week.key },
      status: 'done',
      calls: [`DELETE /api/v4/machine_snapshots/${week.key}`],
    });
    expect(sim.requestsTo('DELETE /machine_snapshots/:key').map((r) => r.path)).toEqual([`/api/v4/machine_snapshots/${week.key}`]);
    const left = (await list()).map((s) => s.name);
    expect(left).toHaveLength(2);
    expect(left.filter((name) => name !== 'keep')).toEqual([expect.stringMatching(/^snap-1-\d{8}-\d{4}$/)]);

    const missing = await runVmbot(['snapshot', 'delete', 'snap-1', 'week', '--yes'], env);
    expect([missing.code, missing.stderr]).toEqual([2, `snap-1 has no snapshot week (its snapshots: ${left.join(', ')})\n`]);
  });

  it('exit 2 for an unknown VM, a bad --expires or a name taken; exit 1 with VergeOS words when it refuses', async () => {
    const bad = await Promise.all([runVmbot(['snapshot', 'create', 'snap-1', '--expires', 'soon'], env), runVmbot(['snapshot', 'list', 'nope'], env)]);
    expect(bad.map((r) => [r.code, r.stderr])).toEqual([
      [2, '--expires must be a duration like 7d or 12h, or never (got "soon")\n'],
      [2, 'no VM nope made through the bot (see `vmbot vms`)\n'],
    ]);
    const taken = await runVmbot(['snapshot', 'create', 'snap-1', '--name', 'keep'], env);
    expect([taken.code, taken.stdout, taken.stderr]).toEqual([2, '', '--name: snap-1 already has a snapshot named keep\nNothing was changed.\n']);

    const posts = sim.requestsTo('POST /machine_snapshots').length;
    sim.faults.add({ route: 'POST /machine_snapshots', nth: 1, status: 422, body: { err: 'Snapshot limit reached for this machine' } });
    const refused = await runVmbot(['snapshot', 'create', 'snap-1', '--name', 'more', '--json'], env);
    sim.faults.clear();
    expect(refused.code).toBe(1);
    expect(json(refused.stdout)).toMatchObject({ status: 'failed', error: { code: 'VERGEOS_VALIDATION' } });
    expect(refused.stderr).toContain('VergeOS said: "Snapshot limit reached for this machine".');
    expect(sim.requestsTo('POST /machine_snapshots').length).toBe(posts + 1);
  });
});
