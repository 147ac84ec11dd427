import { spawnSync } from 'node:child_process';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/store/store.js';
import { FileAuditLog } from '../../src/store/audit.js';
import { LowdbStore, readArchive } from '../../src/store/lowdb.js';
import { tempDir } from '../helpers/core.js';
import { fullSpec } from '../helpers/full-spec.js';
import type { RunRecord } from '../../src/store/records.js';

function run(id: string): RunRecord {
  const now = new Date().toISOString();
  return { id, version: 0, state: 'pending', createdAt: now, updatedAt: now, actor: 'test', spec: fullSpec('s1'), steps: {}, keys: {}, poweredOn: false };
}

describe('store', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, remove } = await tempDir());
  });
  afterEach(() => remove());

  it('persists runs to a real file and reads them back validated', async () => {
    const store = await LowdbStore.open(dir);
    await store.insertRuns([run('run-a')]);
    await store.updateRun('run-a', { version: 0, states: ['pending'] }, (r) => {
      r.state = 'running';
    });
    await store.close();
    const again = await LowdbStore.open(dir);
    expect(again.getRun('run-a')).toMatchObject({ state: 'running', version: 1 });
    await again.close();
  });

  it('compare-and-set refuses a stale version or a wrong state, and changes nothing', async () => {
    const store = await LowdbStore.open(dir);
    await store.insertRuns([run('run-b')]);
    const results = await Promise.allSettled([0, 0].map(() => store.updateRun('run-b', { version: 0 }, (r) => void (r.state = 'running'))));
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    await expect(store.updateRun('run-b', { states: ['pending'] }, () => {})).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
    expect(store.getRun('run-b')?.version).toBe(1);
    await store.close();
  });

  it('stops on a corrupt or hand-edited file with a clear message and never overwrites it', async () => {
    const file = join(dir, 'vmbot.json');
    await writeFile(file, '{"version": 1, "runs": [');
    await expect(LowdbStore.open(dir)).rejects.toThrow(/vmbot\.json is not valid JSON .* the bot will not overwrite it/);
    expect(await readFile(file, 'utf8')).toBe('{"version": 1, "runs": [');

    const store = await LowdbStore.open(join(dir, 'ok'));
    await store.insertRuns([run('run-c')]);
    await store.close();
    const okFile = join(dir, 'ok', 'vmbot.json');
    const edited = (await readFile(okFile, 'utf8')).replace('"state":"pending"', '"state":"paused"');
    await writeFile(okFile, edited);
    const err = await LowdbStore.open(join(dir, 'ok')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).toMatch(/does not look like a vmbot store \(runs\[0\]\.state: /);
    expect(await readFile(okFile, 'utf8')).toBe(edited);
  });

  it('allows one writer per directory, and takes over the lock of a dead process', async () => {
    const store = await LowdbStore.open(dir);
    await expect(LowdbStore.open(dir)).resolves.toBeDefined(); // same process: its own lock
    await store.close();
    // A lock left by a process that no longer exists (killed) is stale.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    await writeFile(join(dir, 'vmbot.lock'), JSON.stringify({ pid: Number(dead), host: (await import('node:os')).hostname() }));
    const taken = await LowdbStore.open(dir);
    expect(JSON.parse(await readFile(join(dir, 'vmbot.lock'), 'utf8')).pid).toBe(process.pid);
    await taken.close();
    // A live other process holds it: refused.
    await writeFile(join(dir, 'vmbot.lock'), JSON.stringify({ pid: process.ppid, host: (await import('node:os')).hostname() }));
    await expect(LowdbStore.open(dir)).rejects.toMatchObject({ code: 'STORE_LOCKED', message: expect.stringMatching(/another vmbot \(pid \d+\) is using/) });
    expect((await LowdbStore.open(dir, { readOnly: true })).listRuns()).toEqual([]);
  });
});

describe('store journal', () => {
  it('keeps every change across a crash: a process killed before the file catches up loses nothing', async () => {
    const { dir, remove } = await tempDir();
    try {
      // A child process opens the store, makes changes, and is killed without closing it.
      const script = `
        import { LowdbStore as Store } from ${JSON.stringify(new URL('../../src/store/lowdb.ts', import.meta.url).pathname)};
        import { parseSpec } from ${JSON.stringify(new URL('../../src/vmspec/validate.ts', import.meta.url).pathname)};
        const store = await Store.open(${JSON.stringify(dir)});
        const spec = parseSpec({ vm: { name: 'j1' } });
        const now = new Date().toISOString();
        await store.insertRuns([{ id: 'run-j', version: 0, state: 'pending', createdAt: now, updatedAt: now, actor: 't', spec: spec.value, steps: {}, keys: {}, poweredOn: false }]);
        for (let i = 0; i < 20; i++) await store.updateRun('run-j', {}, (r) => { r.actor = 'step-' + i; });
        await store.nextNumber('REQ'); await store.nextNumber('REQ');
        process.kill(process.pid, 'SIGKILL');
      `;
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('../..', import.meta.url).pathname });
      expect(child.signal).toBe('SIGKILL');
      const store = await LowdbStore.open(dir);
      expect(store.getRun('run-j')).toMatchObject({ version: 20, actor: 'step-19' });
      expect(await store.nextNumber('REQ')).toBe(3);
      await store.close();
      // Replayed into the file and the journal emptied.
      expect(JSON.parse(await readFile(join(dir, 'vmbot.json'), 'utf8')).runs[0].actor).toBe('step-19');
      expect(await readFile(join(dir, 'vmbot.journal.jsonl'), 'utf8')).toBe('');
    } finally {
      await remove();
    }
  });
});

describe('store archive', () => {
  it('moves old finished runs and decided requests out of the main file, once, and can read them back', async () => {
    const { dir, remove } = await tempDir();
    try {
      const longAgo = new Date(Date.now() - 40 * 86_400_000).toISOString();
      const aged = (id: string, state: RunRecord['state'], requestId?: string): RunRecord => ({
        ...run(id),
        state,
        createdAt: longAgo,
        updatedAt: longAgo,
        ...(requestId ? { requestId } : {}),
      });
      const store = await LowdbStore.open(dir);
      // run-old-ok's VM was deleted outside the bot; run-old-live's VM still exists, so it stays (ownership, quotas).
      await store.insertRuns([
        { ...aged('run-old-ok', 'succeeded', 'REQ-1'), goneAt: longAgo },
        aged('run-old-failed', 'failed'),
        run('run-new-ok'),
        aged('run-old-ok-2', 'succeeded', 'REQ-2'),
        aged('run-old-live', 'succeeded'),
      ]);
      const spec = fullSpec('s1');
      await store.insertRequest({
        id: 'REQ-1',
        version: 0,
        state: 'succeeded',
        createdAt: longAgo,
        updatedAt: longAgo,
        expiresAt: longAgo,
        requester: 'U1',
        spec,
        warnings: [],
        approvals: [],
        runId: 'run-old-ok',
      });
      await store.insertRequest({
        id: 'REQ-2',
        version: 0,
        state: 'failed',
        createdAt: longAgo,
        updatedAt: longAgo,
        expiresAt: longAgo,
        requester: 'U1',
        spec,
        warnings: [],
        approvals: [],
        runId: 'run-old-ok-2',
      });
      await store.close();

      const reopened = await LowdbStore.open(dir, { archiveAfterMs: 30 * 86_400_000 });
      // A failed run stays (it may still be retried or cleaned up), and so does a run whose request is still open.
      expect(
        reopened
          .listRuns()
          .map((r) => r.id)
          .sort(),
      ).toEqual(['run-new-ok', 'run-old-failed', 'run-old-live', 'run-old-ok-2']);
      expect(reopened.listRequests().map((r) => r.id)).toEqual(['REQ-2']);
      await reopened.close();
      expect((await readArchive(dir, 'runs')).map((r) => r.id)).toEqual(['run-old-ok']);
      expect((await readArchive(dir, 'requests')).map((r) => r.id)).toEqual(['REQ-1']);
      const again = await LowdbStore.open(dir, { archiveAfterMs: 30 * 86_400_000 });
      await again.close();
      expect((await readFile(join(dir, 'archive.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(2);
    } finally {
      await remove();
    }
  });
});

describe('private files', () => {
  it('every file under DATA_DIR stays 0600 and the directory 0700, after rewrites, the journal, archiving and the audit log', async () => {
    const { dir, remove } = await tempDir();
    const previous = process.umask(0o022); // the usual umask, under which files would be 0644
    try {
      const dataDir = join(dir, 'data');
      const store = await LowdbStore.open(dataDir, { archiveAfterMs: 0 });
      const audit = await FileAuditLog.open(dataDir);
      const now = new Date().toISOString();
      await store.insertRuns([
        { id: 'run-m', version: 0, state: 'pending', createdAt: now, updatedAt: now, actor: 't', spec: fullSpec('m1'), steps: {}, keys: {}, poweredOn: false },
      ]);
      for (let i = 0; i < 5; i++) await store.updateRun('run-m', {}, (r) => void (r.actor = `a${i}`));
      await store.updateRun('run-m', {}, (r) => void (r.state = 'cleaned_up'));
      await audit.append({ actor: 't', action: 'run.cleaned_up', outcome: 'ok' });
      await store.flush();
      expect(await store.archiveOld()).toBe(1);
      const modes = async () =>
        Object.fromEntries(
          await Promise.all((await readdir(dataDir)).map(async (f) => [f, ((await stat(join(dataDir, f))).mode & 0o777).toString(8)] as const)),
        );
      expect(await modes()).toEqual({ 'vmbot.json': '600', 'vmbot.journal.jsonl': '600', 'vmbot.lock': '600', 'archive.jsonl': '600', 'audit.jsonl': '600' });
      expect(((await stat(dataDir)).mode & 0o777).toString(8)).toBe('700');
      await audit.close();
      await store.close();
    } finally {
      process.umask(previous);
      await remove();
    }
  });
});

describe('the archive index', () => {
  it('finds an archived request (newest version) and its runs, also ones archived after the index was built, past a torn line', async () => {
    const { dir, remove } = await tempDir();
    try {
      const now = new Date().toISOString();
      const request = (version: number, state: 'cancelled' | 'succeeded') => ({
        id: 'REQ-9',
        version,
        state,
        createdAt: now,
        updatedAt: now,
        expiresAt: now,
        requester: 'U0REQUESTER',
        spec: fullSpec('arch-9'),
        approvals: [],
        warnings: [],
      });
      // An archive written earlier: two versions of REQ-9, then a line torn by a crash.
      await writeFile(
        join(dir, 'archive.jsonl'),
        `${JSON.stringify({ table: 'requests', record: request(1, 'cancelled') })}\n${JSON.stringify({ table: 'requests', record: request(3, 'succeeded') })}\n{"table":"requ`,
      );
      const store = await LowdbStore.open(dir, { archiveAfterMs: 0 });
      expect(await store.findArchivedRequest('REQ-9')).toMatchObject({ version: 3, state: 'succeeded' });
      expect(await store.findArchivedRequest('REQ-10')).toBeUndefined();

      // Archived while running, after the index was built.
      await store.insertRequest({ ...request(0, 'cancelled'), id: 'REQ-11', spec: fullSpec('arch-11') });
      await store.insertRuns([
        {
          id: 'run-a11',
          version: 0,
          state: 'cleaned_up',
          createdAt: now,
          updatedAt: now,
          actor: 't',
          requestId: 'REQ-11',
          spec: fullSpec('arch-11'),
          steps: {},
          keys: {},
          poweredOn: false,
        },
      ]);
      expect(await store.archiveOld()).toBe(2);
      expect(store.getRequest('REQ-11')).toBeUndefined();
      expect(await store.findArchivedRequest('REQ-11')).toMatchObject({ id: 'REQ-11', state: 'cancelled' });
      expect((await store.archivedRunsOf('REQ-11')).map((r) => r.id)).toEqual(['run-a11']);
      await store.close();
      // The torn line did not swallow what came after it: a fresh index (and a plain read) finds it all.
      const again = await LowdbStore.open(dir, { readOnly: true });
      expect((await again.archivedRunsOf('REQ-11')).map((r) => r.id)).toEqual(['run-a11']);
      expect((await again.readArchived('requests')).map((r) => r.id).sort()).toEqual(['REQ-11', 'REQ-9']);
      await again.close();
    } finally {
      await remove();
    }
  });
});
