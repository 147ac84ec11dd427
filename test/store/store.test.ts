import { spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/store/store.js';
import { FileAuditLog } from '../../src/store/audit-file.js';
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
    const locks = (await readdir(dir)).filter((f) => f.startsWith('vmbot.lock')).sort();
    // The dead one's removed; this process's lock, and the marker that it holds it.
    expect(locks).toEqual([expect.stringMatching(new RegExp(`^vmbot\\.lock\\.${process.pid}-[0-9a-f]{12}$`)), expect.stringMatching(/\.held$/)]);
    expect(JSON.parse(await readFile(join(dir, locks[0]!), 'utf8')).pid).toBe(process.pid);
    await taken.close();
    expect((await readdir(dir)).filter((f) => f.startsWith('vmbot.lock'))).toEqual([]);
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
      // Folded into the snapshot at close; the journals left are empty.
      expect(JSON.parse(await readFile(join(dir, 'vmbot.json'), 'utf8')).runs[0].actor).toBe('step-19');
      expect(await journalText(dir)).toBe('');
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
        kind: 'vm',
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
        kind: 'vm',
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
  it('every file under DATA_DIR stays 0600 and the directory 0700, after each kind of write', async () => {
    const { dir, remove } = await tempDir();
    const previous = process.umask(0o022); // the usual umask, under which files would be 0644
    try {
      const dataDir = join(dir, 'data');
      await mkdir(dataDir, { mode: 0o755 }); // made by someone else, open to all
      await writeFile(join(dataDir, 'vmbot.json'), JSON.stringify({ version: 1, runs: [], requests: [], counters: {} }), { mode: 0o644 }); // an older version's
      const modes = async () => ({
        '.': ((await stat(dataDir)).mode & 0o777).toString(8),
        ...Object.fromEntries(
          await Promise.all(
            (await readdir(dataDir)).map(
              async (f) => [f.replace(/^vmbot\.lock\..*/, 'vmbot.lock'), ((await stat(join(dataDir, f))).mode & 0o777).toString(8)] as const,
            ),
          ),
        ),
      });
      const allPrivate = async (what: string, files: string[]) => {
        const seen = await modes();
        expect(Object.keys(seen).sort(), `${what}: ${JSON.stringify(seen)}`).toEqual(['.', ...files].sort());
        expect(seen, what).toEqual(Object.fromEntries(Object.keys(seen).map((f) => [f, f === '.' ? '700' : '600'])));
      };
      const store = await LowdbStore.open(dataDir, { archiveAfterMs: 0 });
      const audit = await FileAuditLog.open(dataDir);
      await store.flush(); // the older version's file, rewritten in this version's form
      await allPrivate('at open', ['vmbot.json', 'vmbot.lock', 'vmbot.journal.1.jsonl', 'archive.idx', 'audit.jsonl']);
      const now = new Date().toISOString();
      await store.insertRuns([
        { id: 'run-m', version: 0, state: 'pending', createdAt: now, updatedAt: now, actor: 't', spec: fullSpec('m1'), steps: {}, keys: {}, poweredOn: false },
      ]);
      for (let i = 0; i < 5; i++) await store.updateRun('run-m', {}, (r) => void (r.actor = `a${i}`));
      await audit.append({ actor: 't', action: 'run.created', outcome: 'ok' });
      await allPrivate('after journaled changes and an audit record', ['vmbot.json', 'vmbot.lock', 'vmbot.journal.1.jsonl', 'archive.idx', 'audit.jsonl']);
      await store.compact();
      await allPrivate('after a compaction', ['vmbot.json', 'vmbot.lock', 'vmbot.journal.2.jsonl', 'archive.idx', 'audit.jsonl']);
      await store.updateRun('run-m', {}, (r) => void (r.state = 'cleaned_up'));
      expect(await store.archiveOld()).toBe(1);
      await allPrivate('after archiving', ['vmbot.json', 'vmbot.lock', 'vmbot.journal.2.jsonl', 'archive.jsonl', 'archive.idx', 'audit.jsonl']);
      await audit.close();
      await store.close();
      await allPrivate('after close', ['vmbot.json', 'vmbot.journal.3.jsonl', 'archive.jsonl', 'archive.idx', 'audit.jsonl']);
    } finally {
      process.umask(previous);
      await remove();
    }
  });
});

describe('compaction', () => {
  it('a process SIGKILLed while the snapshot is being written loses nothing, and the half-written file is cleared away', async () => {
    const { dir, remove } = await tempDir();
    try {
      // A child fills the store, starts a compaction, keeps changing records while it runs, and is
      // killed while the temporary snapshot is half-written.
      const script = `
        import { readdirSync } from 'node:fs';
        import { open as openFile } from 'node:fs/promises';
        import { LowdbStore as Store } from ${JSON.stringify(new URL('../../src/store/lowdb.ts', import.meta.url).pathname)};
        import { parseSpec } from ${JSON.stringify(new URL('../../src/vmspec/validate.ts', import.meta.url).pathname)};
        const store = await Store.open(${JSON.stringify(dir)});
        const probe = await openFile('/dev/null', 'r');
        const handles = Object.getPrototypeOf(probe);
        await probe.close();
        const now = new Date().toISOString();
        const runs = Array.from({ length: 3000 }, (_, i) => ({ id: 'run-k' + i, version: 0, state: 'pending', createdAt: now, updatedAt: now, actor: 't', spec: parseSpec({ vm: { name: 'k' + i } }).value, steps: {}, keys: {}, poweredOn: false }));
        await store.insertRuns(runs);
        await store.compact(); // a snapshot of the 3000, and the journal emptied
        for (let i = 0; i < 3000; i++) await store.updateRun('run-k' + i, {}, (r) => { r.actor = 'before-' + i; });
        // Hold the snapshot after its first chunk (only it writes through a FileHandle; the journal
        // does not), so it is still being written when the process dies, however fast the disk is.
        const firstWrite = handles.write;
        let writes = 0;
        handles.write = function (...args) { return ++writes === 1 ? firstWrite.apply(this, args) : new Promise(() => {}); };
        void store.compact();
        let i = 0;
        while (!readdirSync(${JSON.stringify(dir)}).some((f) => f.endsWith('.tmp'))) {
          await store.updateRun('run-k' + (i % 3000), {}, (r) => { r.actor = 'during-' + i; });
          i++;
          await new Promise((r) => setImmediate(r));
        }
        // Fifty more while the snapshot is still being written: journaled at once, synced together.
        const more = [];
        for (let k = 0; k < 50; k++, i++) { const n = i; more.push(store.updateRun('run-k' + (n % 3000), {}, (r) => { r.actor = 'during-' + n; })); }
        await Promise.all(more);
        await store.nextNumber('REQ');
        process.stdout.write(String(i));
        process.kill(process.pid, 'SIGKILL');
      `;
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('../..', import.meta.url).pathname });
      expect(child.signal, child.stderr.toString()).toBe('SIGKILL');
      const during = Number(child.stdout.toString());
      expect(during).toBeGreaterThanOrEqual(50);
      expect((await readdir(dir)).some((f) => f.endsWith('.tmp'))).toBe(true);

      const store = await LowdbStore.open(dir);
      expect((await readdir(dir)).some((f) => f.endsWith('.tmp'))).toBe(false);
      expect(store.listRuns()).toHaveLength(3000);
      // Every run as its last change left it: the last "during" change made to it, else its "before" one.
      const expected = (x: number) => (x < during ? `during-${x + 3000 * Math.floor((during - 1 - x) / 3000)}` : `before-${x}`);
      const wrong = store.listRuns().filter((r) => r.actor !== expected(Number(r.id.slice('run-k'.length))));
      expect(wrong.map((r) => `${r.id}: ${r.actor}`)).toEqual([]);
      expect(store.counter('REQ')).toBe(1);
      await store.close();
      // Reopened once more from the snapshot close wrote: the same.
      const again = await LowdbStore.open(dir, { readOnly: true });
      expect(again.getRun(`run-k${(during - 1) % 3000}`)?.actor).toBe(`during-${during - 1}`);
      expect(await journalText(dir)).toBe('');
      await again.close();
    } finally {
      await remove();
    }
  });

  it('journals a compaction already folded in are not replayed again: an archived record stays archived', async () => {
    const { dir, remove } = await tempDir();
    try {
      const longAgo = new Date(Date.now() - 40 * 86_400_000).toISOString();
      const store = await LowdbStore.open(dir);
      await store.insertRuns([{ ...run('run-old'), state: 'cleaned_up', createdAt: longAgo, updatedAt: longAgo }, run('run-new')]);
      // The journals as they stand before the compaction: a crash after the new snapshot was
      // renamed into place but before these were deleted leaves them behind.
      const before = await journalFiles(dir);
      expect(await store.archiveOld()).toBe(1);
      await store.compact();
      for (const [name, text] of before) await writeFile(join(dir, name), text, { mode: 0o600 });
      await store.close();
      const reopened = await LowdbStore.open(dir);
      expect(reopened.listRuns().map((r) => r.id)).toEqual(['run-new']);
      expect((await reopened.readArchived('runs')).map((r) => r.id)).toEqual(['run-old']);
      await reopened.close();
    } finally {
      await remove();
    }
  });

  it('a compaction that cannot write makes the store not ready, loses nothing, and is tried again later', async () => {
    const { dir, remove } = await tempDir();
    try {
      const store = await LowdbStore.open(dir);
      await store.insertRuns([run('run-f')]);
      await store.compact();
      // Something in the way of the new snapshot (as a full disk would be).
      await rm(join(dir, 'vmbot.json'));
      await mkdir(join(dir, 'vmbot.json'));
      await writeFile(join(dir, 'vmbot.json', 'x'), '');
      await store.updateRun('run-f', {}, (r) => void (r.actor = 'during'));
      await expect(store.compact()).rejects.toThrow();
      expect(store.health()).toMatchObject({ ok: false, problem: expect.stringMatching(/^writing .*vmbot\.json failed: /) });
      // Changes still go to the journal; they do not each start another attempt (no new journals).
      const journals = (await journalFiles(dir)).size;
      for (let i = 0; i < 50; i++) await store.updateRun('run-f', {}, (r) => void (r.actor = `during-${i}`));
      await new Promise((r) => setTimeout(r, 20));
      expect((await journalFiles(dir)).size).toBe(journals);
      expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      // Out of the way again: the next compaction writes it, and nothing was lost.
      await rm(join(dir, 'vmbot.json'), { recursive: true });
      await store.compact();
      expect(store.health()).toEqual({ ok: true });
      await store.close();
      const again = await LowdbStore.open(dir, { readOnly: true });
      expect(again.getRun('run-f')).toMatchObject({ actor: 'during-49', version: 51 });
      await again.close();
    } finally {
      await remove();
    }
  });

  it('reads what an older version left (a snapshot without a digest, the one journal), and folds it into this form', async () => {
    const { dir, remove } = await tempDir();
    try {
      const old = { ...run('run-o'), actor: 'old' };
      await writeFile(join(dir, 'vmbot.json'), JSON.stringify({ version: 1, runs: [old], requests: [], counters: { request: 4 } }));
      await writeFile(
        join(dir, 'vmbot.journal.jsonl'),
        `${JSON.stringify({ table: 'runs', record: { ...old, version: 1, actor: 'journaled' } })}\n${JSON.stringify({ table: 'counters', record: { name: 'request', value: 5 } })}\n`,
      );
      const store = await LowdbStore.open(dir);
      expect(store.getRun('run-o')).toMatchObject({ version: 1, actor: 'journaled' });
      expect(await store.nextNumber('request')).toBe(6);
      await store.close();
      expect(await readdir(dir)).not.toContain('vmbot.journal.jsonl');
      expect(await readFile(join(dir, 'vmbot.json'), 'utf8')).toMatch(/"journal":\d+,.*,"digest":"[0-9a-f]{64}"\}\n$/s);
      const again = await LowdbStore.open(dir, { readOnly: true });
      expect(again.getRun('run-o')).toMatchObject({ version: 1, actor: 'journaled' });
      expect(again.counter('request')).toBe(6);
      await again.close();
    } finally {
      await remove();
    }
  });

  it('trusts its own snapshot and journal lines, and validates anything edited by hand', async () => {
    const { dir, remove } = await tempDir();
    try {
      const store = await LowdbStore.open(dir);
      await store.insertRuns([run('run-t')]);
      await store.compact();
      await store.updateRun('run-t', {}, (r) => void (r.actor = 'journaled'));
      const text = [...(await journalFiles(dir)).values()].find((t) => t.length)!;
      await store.close();
      // As after a crash: the line in the journal the snapshot does not cover yet.
      const journal = [...(await journalFiles(dir)).keys()][0]!;
      const snapshot = await readFile(join(dir, 'vmbot.json'), 'utf8');
      expect(snapshot).toMatch(/,"digest":"[0-9a-f]{64}"\}\n$/);
      expect(text).toMatch(/^\{"table":"runs","sum":"[0-9a-f]{16}","record":/);

      // A hand edit that is still a valid record is accepted (validated, since its checksum no longer matches) …
      await writeFile(join(dir, journal), text.replace('"actor":"journaled"', '"actor":"edited"').replace('"version":1,', '"version":7,'));
      const edited = await LowdbStore.open(dir);
      expect(edited.getRun('run-t')?.actor).toBe('edited');
      await edited.close();
      // … one that is not is refused with the file and line.
      const name = (await journalFiles(dir)).keys().next().value!;
      await writeFile(join(dir, name), text.replace('"state":"pending"', '"state":"paused"'));
      await expect(LowdbStore.open(dir)).rejects.toMatchObject({
        code: 'STORE_CORRUPT',
        message: expect.stringMatching(new RegExp(`${name}:1 is not a run record`)),
      });
    } finally {
      await remove();
    }
  });
});

/** The journal files of a data directory and their text. */
async function journalFiles(dir: string): Promise<Map<string, string>> {
  const names = (await readdir(dir)).filter((f) => /^vmbot\.journal\./.test(f)).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n), 'utf8')] as const)));
}

async function journalText(dir: string): Promise<string> {
  return [...(await journalFiles(dir)).values()].join('');
}

describe('the archive index', () => {
  it('finds an archived request (newest version) and its runs, also ones archived after the index was built, past a torn line', async () => {
    const { dir, remove } = await tempDir();
    try {
      const now = new Date().toISOString();
      const request = (version: number, state: 'cancelled' | 'succeeded') => ({
        kind: 'vm' as const,
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

      // The lookup goes by archive.idx: an index that lost REQ-9's lines does not find it (nothing
      // scans the archive; only lines past the index's end are indexed from the archive) …
      const index = await readFile(join(dir, 'archive.idx'), 'utf8');
      expect(index.split('\n').filter((l) => l.startsWith('r\tREQ-'))).toHaveLength(3);
      await writeFile(join(dir, 'archive.idx'), index.replace(/^r\tREQ-9\t.*\n/gm, ''));
      const partial = await LowdbStore.open(dir);
      expect(await partial.findArchivedRequest('REQ-9')).toBeUndefined();
      expect(await partial.findArchivedRequest('REQ-11')).toMatchObject({ id: 'REQ-11' });
      await partial.close();
      // … and a lost index is made again from the archive.
      await rm(join(dir, 'archive.idx'));
      const rebuilt = await LowdbStore.open(dir);
      expect(await rebuilt.findArchivedRequest('REQ-9')).toMatchObject({ version: 3, state: 'succeeded' });
      expect(await rebuilt.findArchivedRequest('REQ-11')).toMatchObject({ id: 'REQ-11', state: 'cancelled' });
      await rebuilt.close();
      expect((await readFile(join(dir, 'archive.idx'), 'utf8')).trim().split('\n')).toHaveLength(4);
    } finally {
      await remove();
    }
  });
});
