/**
 * What the bot wrote itself never dead-ends a start: a torn last line (journal, audit log,
 * archive) is cut off, kept aside and noted; damage in the middle stops with file:line, and
 * `vmbot store repair` keeps every intact record before and after it.
 */
import { appendFile, chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileAuditLog } from '../../src/store/audit-file.js';
import { verifyAuditLog } from '../../src/store/audit.js';
import { journalsIn } from '../../src/store/journal.js';
import { LowdbStore } from '../../src/store/lowdb.js';
import { repairDataDir } from '../../src/store/repair.js';
import type { RunRecord, VmRecord } from '../../src/store/records.js';
import { runVmbot } from '../helpers/cli.js';
import { fullSpec } from '../helpers/full-spec.js';
import { cleanupsAfterEach } from '../helpers/stores.js';

const { defer, dataDir } = cleanupsAfterEach();

function run(id: string): RunRecord {
  const now = new Date().toISOString();
  return { id, version: 0, state: 'pending', createdAt: now, updatedAt: now, actor: 'U1', spec: fullSpec(id), steps: {}, keys: {}, poweredOn: false };
}

/** A store with runs a…e journaled, one line each, and then the process dies (nothing flushed, its lock left); the journal's path. */
async function journaledStore(dir: string, ids = ['run-a', 'run-b', 'run-c', 'run-d', 'run-e']): Promise<string> {
  const store = await LowdbStore.open(dir);
  await store.flush(); // a snapshot first, so no compaction moves the lines while the test looks
  for (const id of ids) await store.insertRuns([run(id)]);
  for (const f of await readdir(dir)) if (f.startsWith('vmbot.lock')) await rm(join(dir, f)); // as if its process were gone
  return join(dir, journalsIn(dir).at(-1)!.name);
}

function vmRecord(id: string, state: VmRecord['state'] = 'live'): VmRecord {
  const now = new Date().toISOString();
  return {
    kind: 'vm',
    id: `vm-${id}`,
    version: 0,
    state,
    createdAt: now,
    updatedAt: now,
    name: id,
    owner: 'U1',
    runId: `run-${id}`,
    keys: { vmKey: '1' },
    spec: fullSpec(id),
  };
}

describe('a torn last line', () => {
  it('of the journal is cut off at open, kept aside and noted; every whole record is there', async () => {
    const dir = await dataDir();
    const journal = await journaledStore(dir);
    const text = await readFile(journal, 'utf8');
    const lastLine = text.trimEnd().split('\n').at(-1)!;
    const torn = lastLine.slice(0, 100); // a crash part-way through the next append
    await appendFile(journal, torn);
    const store = await LowdbStore.open(dir);
    defer(() => store.close());
    expect(store.listRuns().map((r) => r.id)).toEqual(['run-a', 'run-b', 'run-c', 'run-d', 'run-e']);
    expect(store.notes).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${journal.split('/').at(-1)!.replace(/\./g, '\\.')}:6: cut off a torn last line \\(100 bytes: an interrupted write, never acknowledged\\); kept in .*\\.torn-\\d{8}T\\d{6}Z$`,
        ),
      ),
    ]);
    expect(await readFile(journal, 'utf8')).toBe(text);
    const side = (await readdir(dir)).find((f) => f.includes('.torn-'))!;
    expect(await readFile(join(dir, side), 'utf8')).toBe(torn);
    // It goes on from there.
    await store.insertRuns([run('run-f')]);
    expect(store.getRun('run-f')).toBeDefined();
  });

  it('of the audit log is cut off, and the chain verifies up to it and goes on', async () => {
    const dir = await dataDir();
    const log = await FileAuditLog.open(dir);
    for (const action of ['a.one', 'a.two', 'a.three']) await log.append({ actor: 'U1', action, outcome: 'ok' });
    await log.close();
    const file = join(dir, 'audit.jsonl');
    await appendFile(file, '{"actor":"U1","action":"a.fo');
    // Verified up to it, and said so.
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 3, torn: { line: 4, bytes: 28 } });
    const verify = await runVmbot(['audit', 'verify'], { DATA_DIR: dir, LOG_LEVEL: 'silent' });
    expect([verify.code, verify.stderr]).toEqual([0, '']);
    expect(verify.stdout).toBe(
      `${file}: 3 records, chain intact\n${file}:4: the last line (28 bytes) is an interrupted write, not a record; the bot cuts it off (keeping it beside the file) when it next starts\n`,
    );
    const again = await FileAuditLog.open(dir);
    expect(again.notes).toEqual([
      expect.stringMatching(/^audit\.jsonl:4: cut off a torn last line \(28 bytes: an interrupted write, never acknowledged\); kept in audit\.jsonl\.torn-/),
    ]);
    await again.append({ actor: 'U1', action: 'a.four', outcome: 'ok' });
    await again.close();
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 4 });
  });

  it('of the audit log that is whole but not a record is not cut: it may be an edit, and start-up says where and what to do', async () => {
    const dir = await dataDir();
    const log = await FileAuditLog.open(dir);
    await log.append({ actor: 'U1', action: 'a.one', outcome: 'ok' });
    await log.close();
    await appendFile(join(dir, 'audit.jsonl'), '{"edited":true}\n');
    await expect(FileAuditLog.open(dir)).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      message: expect.stringMatching(/audit\.jsonl:2: the last line is not an audit record, though whole; run `vmbot audit verify` .* `vmbot store repair`/),
    });
  });
});

describe('damage in the middle', () => {
  /** What an older version left after a full disk: a torn append, then the next append on the same line, then more lines. */
  async function damagedJournal(dir: string): Promise<{ journal: string; tornBytes: number }> {
    const journal = await journaledStore(dir);
    const lines = (await readFile(journal, 'utf8')).trimEnd().split('\n');
    const torn = lines[2]!.slice(0, Math.floor(lines[2]!.length / 2));
    // run-a, run-b, (torn run-c)run-c, run-d, garbage, run-e
    await writeFile(journal, [lines[0], lines[1], torn + lines[2], lines[3], 'not json at all', lines[4]].join('\n') + '\n');
    return { journal, tornBytes: Buffer.byteLength(torn) };
  }

  it('stops the start naming file:line and the repair command', async () => {
    const dir = await dataDir();
    const { journal } = await damagedJournal(dir);
    await expect(LowdbStore.open(dir)).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      message: `${journal}:3 is not valid JSON. Stop the bot and run \`vmbot store repair\`: it keeps every intact record before and after the damage and sets the damaged lines aside.`,
    });
  });

  it('store repair keeps every intact record before and after, the record at the end of a torn line, and says what it dropped', async () => {
    const dir = await dataDir();
    const { journal, tornBytes } = await damagedJournal(dir);
    const report = await repairDataDir(dir);
    const name = journal.split('/').at(-1)!;
    expect(report.files.find((f) => f.file === name)).toEqual({
      file: name,
      kept: 5,
      damaged: [
        { line: 3, bytes: tornBytes, salvaged: true },
        { line: 5, bytes: 15, salvaged: false },
      ],
      setAside: expect.stringMatching(new RegExp(`^${name.replace(/\./g, '\\.')}\\.damaged-\\d{8}T\\d{6}Z$`)),
    });
    const side = await readFile(join(dir, report.files.find((f) => f.file === name)!.setAside!), 'utf8');
    expect(side).toMatch(/\nnot json at all\n$/);
    const store = await LowdbStore.open(dir);
    defer(() => store.close());
    expect(store.listRuns().map((r) => r.id)).toEqual(['run-a', 'run-b', 'run-c', 'run-d', 'run-e']);
    // Nothing damaged any more: a second repair changes nothing.
    await store.close();
    expect((await repairDataDir(dir)).files.every((f) => f.damaged.length === 0)).toBe(true);
  });

  it('store repair treats VM record lines as it treats runs: in the journal and in the archive', async () => {
    const dir = await dataDir();
    const store = await LowdbStore.open(dir);
    await store.flush();
    for (const id of ['a', 'b', 'c']) await store.insertVm(vmRecord(id));
    for (const f of await readdir(dir)) if (f.startsWith('vmbot.lock')) await rm(join(dir, f));
    const journal = join(dir, journalsIn(dir).at(-1)!.name);
    const lines = (await readFile(journal, 'utf8')).trimEnd().split('\n');
    const torn = lines[1]!.slice(0, 70);
    // vm-a, (torn vm-b)vm-b, garbage, vm-c
    await writeFile(journal, [lines[0], torn + lines[1], '{"table":"vms"', lines[2]].join('\n') + '\n');
    // An archived VM record, then one cut short and written again on the same line.
    const archived = (id: string) => JSON.stringify({ table: 'vms', record: vmRecord(id, 'deleted') });
    await writeFile(join(dir, 'archive.jsonl'), `${archived('x')}\n${archived('y').slice(0, 50)}${archived('y')}\n`);

    const report = await repairDataDir(dir);
    expect(report.files.find((f) => f.file === journal.split('/').at(-1))).toMatchObject({
      kept: 3,
      damaged: [
        { line: 2, bytes: 70, salvaged: true },
        { line: 3, bytes: 14, salvaged: false },
      ],
    });
    expect(report.files.find((f) => f.file === 'archive.jsonl')).toMatchObject({ kept: 2, damaged: [{ line: 2, bytes: 50, salvaged: true }] });
    const repaired = await LowdbStore.open(dir);
    defer(() => repaired.close());
    expect(repaired.listVms().map((v) => v.id)).toEqual(['vm-a', 'vm-b', 'vm-c']);
    expect((await repaired.readArchived('vms')).map((v) => `${v.id}:${v.state}`)).toEqual(['vm-x:deleted', 'vm-y:deleted']);
  });

  it('store repair mends an audit log an interrupted write was appended after, and the chain verifies again', async () => {
    const dir = await dataDir();
    const log = await FileAuditLog.open(dir);
    for (const action of ['a.one', 'a.two', 'a.three', 'a.four']) await log.append({ actor: 'U1', action, outcome: 'ok' });
    await log.close();
    const file = join(dir, 'audit.jsonl');
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    // Record 3 was first cut short, then written again on the same line.
    await writeFile(file, [lines[0], lines[1], lines[2]!.slice(0, 40) + lines[2], lines[3]].join('\n') + '\n');
    expect(await verifyAuditLog(file)).toMatchObject({ ok: false, line: 3 });
    const report = await repairDataDir(dir);
    expect(report.files.find((f) => f.file === 'audit.jsonl')).toMatchObject({ kept: 4, damaged: [{ line: 3, bytes: 40, salvaged: true }] });
    expect(report.audit).toEqual({ ok: true, records: 4 });
  });

  it('vmbot store repair says what it did, in words, and the store opens after', async () => {
    const dir = await dataDir();
    const { tornBytes } = await damagedJournal(dir);
    const result = await runVmbot(['store', 'repair'], { DATA_DIR: dir, LOG_LEVEL: 'silent' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = result.stdout.replace(/\d{8}T\d{6}Z/g, 'T').replace(/vmbot\.journal\.\d+/g, 'vmbot.journal.N');
    expect(out).toBe(
      [
        'vmbot.journal.N.jsonl: kept 5 records; 2 damaged lines, set aside in vmbot.journal.N.jsonl.damaged-T:',
        `  line 3: ${tornBytes} damaged bytes before a whole record dropped; the record kept`,
        '  line 5: 15 bytes dropped (no whole record in it)',
        'The audit chain verifies: 0 records.',
        'The store opens: 0 requests and 5 runs in the working set.',
        '',
      ].join('\n'),
    );
  });
});

describe('read-only commands', () => {
  it('vmbot runs and vms read a DATA_DIR they cannot write, with a torn audit line in it', async () => {
    const dir = await dataDir();
    await journaledStore(dir, ['run-a']);
    const log = await FileAuditLog.open(dir);
    await log.append({ actor: 'U1', action: 'a.one', outcome: 'ok' });
    await log.close();
    await appendFile(join(dir, 'audit.jsonl'), '{"actor":"U1","act');
    // Readable by anyone, writable by no one but root: the commands run as nobody when the test runs as root.
    const files = (await readdir(dir)).sort();
    for (const f of files) await chmod(join(dir, f), 0o444);
    await chmod(dir, 0o555);
    defer(() => chmod(dir, 0o700)); // before the directory is removed (cleanups run last first)
    const asReader = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    for (const args of [['runs'], ['runs', '--json'], ['vms']]) {
      const result = await runVmbot(args, { DATA_DIR: dir, LOG_LEVEL: 'silent', HOME: '/tmp' }, asReader);
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.code, args.join(' ')).toBe(0);
      if (args[0] === 'runs') expect(result.stdout).toContain('run-a');
    }
    expect((await readdir(dir)).sort()).toEqual(files); // nothing written, nothing cut
  });
});
