/**
 * `runs --json` and `vms --json` carry exactly the fields the README lists for them (read from the
 * README itself, so the two cannot drift apart): none missing, none unlisted, nested ones too.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { provisionBatch } from '../../src/batches/batch.js';
import { runVmbot } from '../helpers/cli.js';
import { MANIFESTS, provisioningRig, type ProvisioningRig, recipeSpec } from '../helpers/core.js';

const DAY = 86_400_000;
const README = fileURLToPath(new URL('../../README.md', import.meta.url));

interface Field {
  name: string;
  optional: boolean;
  /** Keys of a nested object (`size{a,b}`) or of each element of an array (`drives[{a,b}]`). */
  keys?: string[];
  array: boolean;
}

/** The fields of "`CMD --json` prints …: `a`, `b?`, `c{x,y}`, `d[{x,y}]` …" (its paragraph, after the colon). */
function readmeFields(readme: string, command: string): Field[] {
  const start = readme.indexOf(`\`${command} --json\` prints`);
  if (start < 0) throw new Error(`the README does not say what \`${command} --json\` prints`);
  const end = readme.indexOf('\n\n', start);
  const paragraph = readme.slice(start, end < 0 ? undefined : end);
  const list = paragraph.slice(paragraph.indexOf(':') + 1);
  return [...list.matchAll(/`([^`]+)`/g)].map(([, token]) => {
    const m = /^(\w+)(\?)?(?:\[\{([\w,]+)\}\]|\{([\w,]+)\})?$/.exec(token!);
    if (!m) throw new Error(`cannot read the README's field \`${token}\` of ${command} --json`);
    const keys = (m[3] ?? m[4])?.split(',');
    return { name: m[1]!, optional: m[2] === '?', array: m[3] !== undefined, ...(keys ? { keys } : {}) };
  });
}

/** Every object holds to the fields: all required ones present, nothing unlisted, nested keys exact. */
function holdTo(fields: Field[], rows: Array<Record<string, unknown>>, what: string): void {
  const listed = fields.map((f) => f.name);
  for (const row of rows) {
    const where = `${what} ${String(row.name)}`;
    expect(
      Object.keys(row).filter((k) => !listed.includes(k)),
      `${where}: fields the README does not list`,
    ).toEqual([]);
    expect(
      fields.filter((f) => !f.optional && !(f.name in row)).map((f) => f.name),
      `${where}: fields the README lists but the output lacks`,
    ).toEqual([]);
    for (const f of fields.filter((field) => field.keys && row[field.name] != null)) {
      const values = f.array ? (row[f.name] as Array<Record<string, unknown>>) : [row[f.name] as Record<string, unknown>];
      for (const v of values) expect(Object.keys(v).sort(), `${where}: ${f.name}`).toEqual([...f.keys!].sort());
    }
  }
}

describe('the JSON the README promises', () => {
  let rig: ProvisioningRig;
  let env: Record<string, string>;
  const readme = readFileSync(README, 'utf8');

  beforeAll(async () => {
    // Made in this process (fewer child processes on a busy machine); the CLI then reads DATA_DIR.
    rig = await provisioningRig();
    const actor = 'cli:tester';
    // A leased batch of two, a single VM kept until deleted, and a run that failed.
    const lab = await Promise.all(['j-1', 'j-2'].map((name) => recipeSpec('iso-install', name)));
    const batch = await provisionBatch(rig.provisioner, lab, { actor, concurrency: 2, lease: { forMs: 7 * DAY, maxMs: 30 * DAY } });
    expect(batch.succeeded).toBe(2);
    const solo = await rig.provisioner.createRun(await recipeSpec('web-server', 'j-solo'), { actor });
    expect((await rig.provisioner.execute(solo.id)).state).toBe('succeeded');
    rig.sim.faults.add({ route: 'POST /machine_nics', nth: 1, status: 404, body: { err: "Network '3' not found" } });
    const fail = await rig.provisioner.createRun(await recipeSpec('web-server', 'j-fail'), { actor });
    expect((await rig.provisioner.execute(fail.id)).state).toBe('failed');
    // j-2 is deleted outside the bot and noticed.
    const j2 = batch.runs.find((r) => r.spec.vm.name === 'j-2')!;
    rig.sim.state.vmAction({ vm: j2.keys.vmKey!, action: 'kill' });
    rig.sim.state.deleteVm(j2.keys.vmKey!);
    expect((await rig.provisioner.noticeDeletedVms()).map((v) => v.name)).toEqual(['j-2']);
    await rig.audit.close();
    await rig.store.close();
    env = { DATA_DIR: rig.dir, MANIFESTS_DIR: MANIFESTS };
  });
  afterAll(async () => {
    await rig.sim.close();
    await rm(rig.dir, { recursive: true, force: true });
  });

  it('reads the README lists (so an empty match cannot pass)', () => {
    const runs = readmeFields(readme, 'runs');
    expect(runs.map((f) => f.name)).toEqual(expect.arrayContaining(['runId', 'state', 'batchId', 'requester', 'size', 'createdAt', 'error']));
    expect(runs.find((f) => f.name === 'error')).toEqual({ name: 'error', optional: true, array: false, keys: ['code', 'message'] });
    expect(runs.find((f) => f.name === 'drives')).toEqual({ name: 'drives', optional: false, array: true, keys: ['key', 'name'] });
    expect(readmeFields(readme, 'vms').map((f) => f.name)).toEqual(
      expect.arrayContaining(['owner', 'vmKey', 'machineKey', 'leaseEndsAt', 'size', 'requestId']),
    );
  });

  it('runs --json', async () => {
    const out = await runVmbot(['runs', '--json'], env);
    expect(out.code).toBe(0);
    const rows = JSON.parse(out.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => `${String(r.name)}:${String(r.state)}`)).toEqual(['j-1:succeeded', 'j-2:succeeded', 'j-solo:succeeded', 'j-fail:failed']);
    holdTo(readmeFields(readme, 'runs'), rows, 'runs --json');
    const [j1, j2, solo, failed] = rows;
    expect(j1).toMatchObject({ batchId: expect.stringMatching(/^batch-/), requester: 'cli:tester', goneAt: null });
    expect(j1!.size).toEqual({ cpuCores: 2, ramMb: 4096, diskBytes: 64 * 1024 ** 3, summary: expect.stringMatching(/^2 vCPU, 4 GiB RAM/) });
    expect(j2!.goneAt).toEqual(expect.any(String));
    expect(solo).toMatchObject({ batchId: null, requestId: null });
    expect(failed!.error).toMatchObject({ code: 'VERGEOS_NOT_FOUND' });
    expect(j1).not.toHaveProperty('error');
  });

  it('vms --json (with --all, so a VM gone outside the bot is held to it too)', async () => {
    const out = await runVmbot(['vms', '--json', '--all'], env);
    expect(out.code).toBe(0);
    const rows = JSON.parse(out.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => `${String(r.name)}:${String(r.state)}`)).toEqual(['j-1:exists', 'j-2:gone (deleted outside the bot)', 'j-solo:exists']);
    holdTo(readmeFields(readme, 'vms'), rows, 'vms --json');
    expect(rows[0]).toMatchObject({ leaseEndsAt: expect.any(String), batchId: expect.stringMatching(/^batch-/), size: { cpuCores: 2, ramMb: 4096 } });
    expect(rows[2]).toMatchObject({ leaseEndsAt: null, size: { cpuCores: 4, ramMb: 8192, diskBytes: 100 * 1024 ** 3 } });
  });
});
