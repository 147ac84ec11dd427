/**
 * A full disk in the middle of a run, and every guarded POST after an fsync: the store, the audit
 * log and the provisioner over a file layer that fills up (a short write, then ENOSPC) and
 * records what each fdatasync covered.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/provision/provisioner.js';
import { FileAuditLog } from '../../src/store/audit-file.js';
import { verifyAuditLog } from '../../src/store/audit.js';
import { provisioningRig, tempDir } from '../helpers/core.js';
import { faultyFs, type FaultyFs } from '../helpers/faulty-fs.js';
import { expectExactlyOnce, fullSpec, POST_STEPS } from '../helpers/full-spec.js';

const NO_WAITING = { timing: { importMs: 0, startMs: 0, stopMs: 0 } };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A provisioning rig whose store and audit log write through `fs`, closed after the test. */
async function rig(fs: FaultyFs) {
  const r = await provisioningRig(NO_WAITING, { fs, pollMs: 5 });
  cleanups.push(() => r.close());
  return r;
}

/** Every line of the store's own files is whole: no torn line anywhere. */
async function expectNoTornLine(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!/^(vmbot\.journal\.\d+\.jsonl|audit\.jsonl|archive\.jsonl)$/.test(name)) continue;
    const text = await readFile(join(dir, name), 'utf8');
    if (text === '') continue;
    expect(text.endsWith('\n'), `${name} ends with a newline`).toBe(true);
    for (const [i, line] of text.trimEnd().split('\n').entries()) expect(() => JSON.parse(line) as unknown, `${name}:${i + 1}`).not.toThrow();
  }
}

describe('a full disk during a run', () => {
  it('pauses the run (not failed) with no torn line, sends nothing unsaved, and finishes it exactly once when space is back', async () => {
    const fs = faultyFs();
    const r = await rig(fs);
    const run = await r.provisioner.createRun(fullSpec('full-disk-1'), { actor: 'U1' });
    const events: RunEvent[] = [];
    // The disk fills the moment the first drive is recorded done: the next save (drive 2 in flight) is cut short.
    const paused = await r.provisioner.execute(run.id, (event) => {
      events.push(event);
      if (event.type === 'step_done' && event.stepId === 'drive:0') fs.fill();
    });
    expect(paused.state).toBe('running');
    expect(paused.steps['drive:0']?.status).toBe('done');
    expect(paused.steps['drive:1']?.status).toBe('pending');
    const pause = events.find((e) => e.type === 'run_paused');
    expect(pause).toMatchObject({ type: 'run_paused', runId: run.id, reason: expect.stringMatching(/: the disk is full \(ENOSPC\)$/) });
    expect(events.some((e) => e.type === 'run_failed' || e.type === 'step_failed')).toBe(false);
    expect(r.provisioner.pausedForStore(run.id)).toBe(true);
    // Nothing was sent whose in_flight save failed.
    expect(r.sim.requestsTo('POST /machine_drives')).toHaveLength(1);
    await expectNoTornLine(r.dir);
    expect(r.store.health()).toEqual({ ok: false, problem: expect.stringMatching(/^can't write .*vmbot\.journal\.\d+\.jsonl: the disk is full \(ENOSPC\)$/) });
    expect(await r.store.ping()).toEqual({ ok: false, problem: expect.stringMatching(/the disk is full \(0 bytes free\)$/) });

    fs.free();
    expect(await r.store.ping()).toEqual({ ok: true });
    expect(r.store.health()).toEqual({ ok: true });
    const done = await r.provisioner.execute(run.id);
    expect(done.state).toBe('succeeded');
    await expectExactlyOnce(r.sim, 'full-disk-1');
    await expectNoTornLine(r.dir);

    // A new process reads it all back, and the audit chain is whole.
    await r.restart();
    expect(r.store.getRun(run.id)?.state).toBe('succeeded');
    expect(await verifyAuditLog(join(r.dir, 'audit.jsonl'))).toMatchObject({ ok: true });
  });

  it('a restart while the disk was full resumes the run from the stored steps, each created once', async () => {
    const fs = faultyFs();
    const r = await rig(fs);
    const run = await r.provisioner.createRun(fullSpec('full-disk-2'), { actor: 'U1' });
    // Full while VergeOS answers the NIC: the NIC exists, but its key can't be saved.
    r.sim.onRequest('POST /machine_nics', () => fs.fill());
    const paused = await r.provisioner.execute(run.id);
    expect(paused.state).toBe('running');
    await expectNoTornLine(r.dir);
    fs.free();
    await r.restart(true);
    // On disk the NIC is still in flight: its done save (journaled with the next durable change) never landed.
    expect(r.store.getRun(run.id)?.steps['nic:0']?.status).toBe('in_flight');
    const done = await r.provisioner.execute(run.id);
    expect(done.state).toBe('succeeded');
    // The NIC was found by lookup, not sent again.
    expect(r.sim.requestsTo('POST /machine_nics')).toHaveLength(1);
    await expectExactlyOnce(r.sim, 'full-disk-2');
  });

  it('a step whose audit record met the full disk gets that record once writes work (same process)', async () => {
    const fs = faultyFs();
    const r = await rig(fs);
    const run = await r.provisioner.createRun(fullSpec('full-disk-3'), { actor: 'U1' });
    // Full while VergeOS answers the NIC: the step stands (in memory), its audit record is refused.
    r.sim.onRequest('POST /machine_nics', () => fs.fill());
    expect((await r.provisioner.execute(run.id)).state).toBe('running');
    fs.free();
    expect((await r.provisioner.execute(run.id)).state).toBe('succeeded');
    expect(r.sim.requestsTo('POST /machine_nics')).toHaveLength(1);
    const records = (await readFile(join(r.dir, 'audit.jsonl'), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; detail?: string });
    const steps = records.filter((x) => x.action === 'run.step_done').map((x) => x.detail);
    expect(steps).toEqual(['create_vm', 'drive:0', 'drive:1', 'nic:0', 'device:0', 'wait_imports', 'power_on']);
    expect(await verifyAuditLog(join(r.dir, 'audit.jsonl'))).toEqual({ ok: true, records: records.length });
  });

  it('a run whose last audit record meets the full disk is still reported succeeded, and the record is written once writes work', async () => {
    const auditFs = faultyFs(); // only the audit log's disk fills
    const r = await provisioningRig(NO_WAITING, { auditFs, pollMs: 5 });
    cleanups.push(() => r.close());
    const { sim, dir, provisioner } = r;
    const run = await provisioner.createRun(fullSpec('full-disk-4'), { actor: 'U1' });
    const events: RunEvent[] = [];
    const done = await provisioner.execute(run.id, (event) => {
      events.push(event);
      if (event.type === 'step_done' && event.stepId === 'power_on') auditFs.fill();
    });
    expect(done.state).toBe('succeeded');
    expect(provisioner.pausedForStore(run.id)).toBe(false);
    expect(events.at(-1)?.type).toBe('run_succeeded');
    void sim;
    const actions = async () =>
      (await readFile(join(dir, 'audit.jsonl'), 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { action: string }).action);
    expect((await actions()).at(-1)).toBe('run.step_done');
    auditFs.free();
    await provisioner.writeHeldRecords();
    expect((await actions()).at(-1)).toBe('run.succeeded');
    expect(await verifyAuditLog(join(dir, 'audit.jsonl'))).toMatchObject({ ok: true });
  });

  it('refuses the audit append whole, and the log continues its chain once there is room', async () => {
    const fs = faultyFs();
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const audit = await FileAuditLog.open(dir, { fs });
    await audit.append({ actor: 'U1', action: 'test.one', outcome: 'ok' });
    fs.fill();
    await expect(audit.append({ actor: 'U1', action: 'test.two', outcome: 'ok', detail: 'x'.repeat(500) })).rejects.toMatchObject({
      code: 'STORE_UNWRITABLE',
      message: expect.stringMatching(/audit\.jsonl: the disk is full \(ENOSPC\)$/),
    });
    fs.free();
    await audit.append({ actor: 'U1', action: 'test.three', outcome: 'ok' });
    await audit.close();
    await expectNoTornLine(dir);
    expect(await verifyAuditLog(join(dir, 'audit.jsonl'))).toEqual({ ok: true, records: 2 });
  });
});

describe('fsync before the network call it guards', () => {
  it('every POST arrives after its step was saved in flight and synced to disk', async () => {
    const fs = faultyFs();
    const r = await rig(fs);
    const run = await r.provisioner.createRun(fullSpec('synced-1'), { actor: 'U1' });
    const unsynced: string[] = [];
    const seen = new Map<string, number>();
    for (const route of new Set(POST_STEPS.map((s) => s.route))) {
      r.sim.onRequest(route, () => {
        const nth = (seen.get(route) ?? 0) + 1;
        seen.set(route, nth);
        const step = POST_STEPS.find((s) => s.route === route && s.nth === nth)!.stepId;
        // What the disk holds now: a synced journal line with this step in flight.
        const inFlight = fs
          .synced('vmbot.journal')
          .split('\n')
          .filter(Boolean)
          .some((line) => {
            const entry = JSON.parse(line) as { record?: { id?: string; steps?: Record<string, { status: string }> } };
            return entry.record?.id === run.id && entry.record.steps?.[step]?.status === 'in_flight';
          });
        if (!inFlight) unsynced.push(step);
      });
    }
    expect((await r.provisioner.execute(run.id)).state).toBe('succeeded');
    expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(POST_STEPS.length);
    expect(unsynced).toEqual([]);
    // Group commit: fewer syncs than journal lines would need one by one is fine; none is skipped.
    expect(fs.syncs).toBeGreaterThanOrEqual(POST_STEPS.length);
  });
});
