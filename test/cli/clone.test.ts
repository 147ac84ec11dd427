/**
 * `vmbot clone VM --name NEW` against the simulator: the plan (the clone call and power on), one
 * clone on the wire, `apply`'s JSON result and exit codes (0 made, 2 a taken name with nothing
 * sent). The source VM is made by a real `vmbot apply`; the command runs in this process (its
 * module, as commander calls it) with the same environment, and the list is read by `vmbot vms`.
 */
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cloneCommand } from '../../src/cli/clone.js';
import { CliExit } from '../../src/cli/exit.js';
import { type VergeosSim } from '../../src/sim/index.js';
import { runVmbot } from '../helpers/cli.js';
import { useCliSim } from '../helpers/cli-sim.js';
import { MANIFESTS } from '../helpers/core.js';

describe('vmbot clone', () => {
  let sim: VergeosSim;
  let env: Record<string, string>;
  let source: { name: string; vmKey: string; owner: string };
  const saved = { ...process.env };

  const rig = useCliSim({ LOG_LEVEL: 'warn' });
  beforeAll(async () => {
    ({ sim, env } = rig);
    const made = await runVmbot(['apply', join(MANIFESTS, 'iso-install.yml'), '--name', 'tmpl-01', '--yes', '--json'], env);
    expect(made.code).toBe(0);
    source = JSON.parse((await runVmbot(['vms', '--json'], env)).stdout)[0];
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.env = { ...saved };
    process.exitCode = undefined;
  });

  /** `vmbot clone ARGS` in this process: what it printed, and the exit code it set (or the CliExit it ended with). */
  async function clone(which: string, opts: { name: string; yes?: boolean; json?: boolean }) {
    process.env = { PATH: saved.PATH, ...env };
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
    let code: number | undefined;
    let message = '';
    try {
      await cloneCommand(which, opts);
      code = typeof process.exitCode === 'number' ? process.exitCode : 0;
    } catch (e) {
      if (!(e instanceof CliExit)) throw e;
      code = e.exitCode;
      message = e.message;
    } finally {
      vi.restoreAllMocks();
    }
    return { code, message, stdout: out.join(''), stderr: err.join('') };
  }
  const clonePosts = () => sim.requestsTo('POST /vm_actions').filter((r) => (r.body as { action?: string }).action === 'clone');

  it('prints the plan, sends one clone and a power on, prints apply’s JSON result; the copy is listed as the operator’s', async () => {
    const result = await clone('tmpl-01', { name: 'tmpl-01-copy', yes: true, json: true });
    expect(result.code).toBe(0);
    expect(result.stderr.split('\n').slice(0, 5)).toEqual([
      'Plan for VM tmpl-01-copy (2 steps)',
      `   1. POST /api/v4/vm_actions  clone VM tmpl-01 (VM key ${source.vmKey}) as tmpl-01-copy: its drives and NICs copied, new MAC addresses`,
      '   2. POST /api/v4/vm_actions  power on',
      'Power on uses the VM key of the copy, returned by step 1 (or found by its name).',
      `The copy is yours (${source.owner}), kept 1 week once ready, as tmpl-01's lease terms say.`,
    ]);
    expect(result.stderr).toMatch(/\[tmpl-01-copy\] 1\/2 ✓ clone VM tmpl-01 .* → VM key \d+, machine key \d+\n/);
    const json = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ state: 'succeeded', name: 'tmpl-01-copy', poweredOn: true, clonedFrom: { name: 'tmpl-01', vmKey: source.vmKey } });
    expect(clonePosts().map((r) => r.body)).toEqual([{ vm: Number(source.vmKey), action: 'clone', params: { name: 'tmpl-01-copy', preserve_macs: false } }]);
    expect(sim.requestsTo('POST /vm_actions').at(-1)?.body).toEqual({ vm: Number(json.vmKey), action: 'poweron', params: {} });

    const listed = JSON.parse((await runVmbot(['vms', '--json'], env)).stdout) as Array<{ name: string; vmKey: string; owner: string }>;
    expect(listed.map((v) => [v.name, v.owner])).toEqual([
      ['tmpl-01', source.owner],
      ['tmpl-01-copy', source.owner],
    ]);
    expect(listed[1]!.vmKey).toBe(json.vmKey);
  });

  it('a taken name (or an unknown VM) is bad input, exit 2, with nothing sent', async () => {
    const before = sim.requests.filter((r) => r.method !== 'GET').length;
    const taken = await clone('tmpl-01', { name: 'tmpl-01', yes: true });
    expect(taken.code).toBe(2);
    expect(taken.message).toBe(`--name: tmpl-01 is already taken in VergeOS (VM key ${source.vmKey}); pick another name\nNothing was created.`);
    expect(taken.stdout).toBe('');
    const unknown = await clone('nope', { name: 'nope-copy', yes: true });
    expect([unknown.code, unknown.message]).toEqual([2, 'no VM nope made through the bot (see `vmbot vms`)']);
    expect(sim.requests.filter((r) => r.method !== 'GET')).toHaveLength(before);
  });
});
