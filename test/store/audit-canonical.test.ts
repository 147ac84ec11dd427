/**
 * The audit hash does not depend on the order of a record's `keys` (PostgreSQL's jsonb keeps its
 * own), and chains written by older versions, which hashed `keys` in insertion order, still verify.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { AUDIT_FILE, chainRecord, GENESIS, MAX_PERMUTED_KEYS, verifyAuditLog, verifyChain, type AuditRecord } from '../../src/store/audit.js';
import { FileAuditLog } from '../../src/store/audit-file.js';
import { PostgresAuditLog, readPostgresAudit } from '../../src/store/postgres/audit.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { tempDir } from '../helpers/core.js';

/** Written by the hashing of commit 7e02b27 and before: `keys` hashed in insertion order. */
const LEGACY = [
  '{"actor":"cli:ops","action":"run.started","runId":"run-old","vmName":"old-gpu","outcome":"info","seq":1,"at":"2025-01-15T10:00:00.000Z","prev":"0000000000000000000000000000000000000000000000000000000000000000","hash":"728fefb779b8a6cb4de41dbae326964f5c3bc70a0d16c0844799e040c13d333a"}',
  '{"actor":"vmbot","action":"run.step_done","runId":"run-old","vmName":"old-gpu","keys":{"vm":"42","machine":"52","uuid":"6f1c2a9e-0b7d-4c3e-9a55-1d2e3f405162"},"outcome":"ok","detail":"create_vm","seq":2,"at":"2025-01-15T10:00:01.000Z","prev":"728fefb779b8a6cb4de41dbae326964f5c3bc70a0d16c0844799e040c13d333a","hash":"5ce18337440f4306ad419f589f23a36a211db6c56ce71f6c7437b518949316bd"}',
  '{"actor":"vmbot","action":"run.step_done","runId":"run-old","vmName":"old-gpu","keys":{"device":"3000","uuid":"0d9e8f7a-6b5c-4d3e-2f10-a9b8c7d6e5f4"},"outcome":"ok","detail":"gpu","seq":3,"at":"2025-01-15T10:00:02.000Z","prev":"5ce18337440f4306ad419f589f23a36a211db6c56ce71f6c7437b518949316bd","hash":"764b03023824f83ce508ffd024e681e5c50296e0cdb7877c48829cc022acce1a"}',
  '{"actor":"vmbot","action":"run.succeeded","runId":"run-old","vmName":"old-gpu","keys":{"vm":"42","machine":"52"},"outcome":"ok","seq":4,"at":"2025-01-15T10:00:03.000Z","prev":"764b03023824f83ce508ffd024e681e5c50296e0cdb7877c48829cc022acce1a","hash":"8cfd75765412f40026e2696f117d2f810c3d341dabfc547ccdae0f2e80579a07"}',
];
const CHANGED = 'its contents were changed after it was written';

async function* each(records: unknown[]): AsyncGenerator<unknown> {
  for (const r of records) yield r;
}

function reversedKeys(record: AuditRecord): AuditRecord {
  return record.keys ? { ...record, keys: Object.fromEntries(Object.entries(record.keys).reverse()) } : record;
}

describe('the audit hash and the order of keys', () => {
  it('hashes keys sorted by name, so a record read back with its keys in another order verifies', async () => {
    const record = chainRecord({ actor: 'vmbot', action: 'run.step_done', keys: { vm: '42', machine: '52', uuid: 'u-1' }, outcome: 'ok' }, undefined);
    const text = `[1,${JSON.stringify(record.at)},"${GENESIS}","vmbot","run.step_done",null,null,null,{"machine":"52","uuid":"u-1","vm":"42"},"ok",null]`;
    expect(record.hash).toBe(createHash('sha256').update(text).digest('hex'));
    expect(await verifyChain(each([reversedKeys(record)]))).toEqual({ ok: true, records: 1 });
    // Values moved between names are an edit, not a reordering.
    expect(await verifyChain(each([{ ...record, keys: { vm: '52', machine: '42', uuid: 'u-1' } }]))).toEqual({
      ok: false,
      records: 0,
      line: 1,
      problem: CHANGED,
    });
  });

  it('a new record with more keys than are ever permuted still verifies in any order', async () => {
    const keys = Object.fromEntries(Array.from({ length: MAX_PERMUTED_KEYS + 2 }, (_, i) => [`k${i}`, String(i)]));
    const record = chainRecord({ actor: 'vmbot', action: 'x', keys, outcome: 'info' }, undefined);
    expect(await verifyChain(each([reversedKeys(record)]))).toEqual({ ok: true, records: 1 });
    expect(await verifyChain(each([{ ...record, keys: { ...keys, k3: 'changed' } }]))).toEqual({ ok: false, records: 0, line: 1, problem: CHANGED });
  });
  it('a keys entry set to undefined is hashed as stored: left out', async () => {
    const { dir, remove } = await tempDir();
    try {
      const log = await FileAuditLog.open(dir);
      await log.append({ actor: 'vmbot', action: 'x', keys: { vm: undefined as unknown as string, machine: '5', uuid: 'u' }, outcome: 'ok' });
      await log.close();
      expect(await verifyAuditLog(log.file)).toEqual({ ok: true, records: 1 });
    } finally {
      await remove();
    }
  });
});

describe('an audit file written by an older version', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, remove } = await tempDir());
  });
  afterAll(() => remove());

  it('verifies as written, and with keys in any order; appending continues the chain', async () => {
    const file = join(dir, AUDIT_FILE);
    await writeFile(file, LEGACY.join('\n') + '\n');
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 4 });
    const reordered = LEGACY.map((l) => JSON.stringify(reversedKeys(JSON.parse(l) as AuditRecord)));
    expect(await verifyChain(each(reordered.map((l) => JSON.parse(l) as unknown)))).toEqual({ ok: true, records: 4 });

    const log = await FileAuditLog.open(dir);
    const fifth = await log.append({ actor: 'vmbot', action: 'run.step_done', keys: { vm: '43', machine: '53' }, outcome: 'ok' });
    await log.close();
    expect(fifth.seq).toBe(5);
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 5 });
  });

  it('still finds an edited keys value, values swapped between names, and a renamed key', async () => {
    const file = join(dir, 'edited.jsonl');
    const cases: Array<[number, string, string]> = [
      [2, '"machine":"52"', '"machine":"53"'],
      [4, '"vm":"42","machine":"52"', '"vm":"52","machine":"42"'],
      [3, '"device":"3000"', '"gpu":"3000"'],
      [3, '"detail":"gpu"', '"detail":"gpx"'],
    ];
    for (const [line, from, to] of cases) {
      const lines = [...LEGACY];
      expect(lines[line - 1]).toContain(from);
      lines[line - 1] = lines[line - 1]!.replace(from, to);
      await writeFile(file, lines.join('\n') + '\n');
      expect({ to, result: await verifyAuditLog(file) }).toEqual({ to, result: { ok: false, records: line - 1, line, problem: CHANGED } });
    }
  });
});

describe('audit rows written to PostgreSQL by an older version', () => {
  let postgres: TestPostgres;
  beforeAll(async () => {
    postgres = await startPostgres();
  });
  afterAll(() => postgres.stop());

  it('verify although jsonb reordered their keys, take new appends, and an UPDATE of a keys value is found', async () => {
    const url = await postgres.database();
    const store = await PostgresStore.open(url); // migrates
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      // As the older PostgresAuditLog inserted them: the record object, into jsonb.
      for (const line of LEGACY) {
        const record = JSON.parse(line) as AuditRecord;
        await db.query('INSERT INTO audit (seq, hash, record) VALUES ($1, $2, $3)', [record.seq, record.hash, record]);
      }
      // Neither the order they were hashed in (vm, machine, uuid) nor sorted.
      const { rows } = await db.query<{ keys: Record<string, string> }>(`SELECT record->'keys' AS keys FROM audit WHERE seq = 2`);
      expect(Object.keys(rows[0]!.keys)).toEqual(['vm', 'uuid', 'machine']);
      expect(await verifyChain(readPostgresAudit(url))).toEqual({ ok: true, records: 4 });

      const log = PostgresAuditLog.open(url);
      await log.append({ actor: 'vmbot', action: 'run.step_done', keys: { uuid: 'u-2', device: '3001' }, outcome: 'ok' });
      await log.close();
      expect(await verifyChain(readPostgresAudit(url))).toEqual({ ok: true, records: 5 });

      await db.query(`UPDATE audit SET record = jsonb_set(record, '{keys,machine}', '"99"') WHERE seq = 2`);
      expect(await verifyChain(readPostgresAudit(url))).toEqual({ ok: false, records: 1, line: 2, problem: CHANGED });
    } finally {
      await db.end();
      await store.close();
    }
  });
});
