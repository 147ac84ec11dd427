import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditCsvRow, readAuditRecords, verifyAuditLog } from '../../src/store/audit.js';
import { FileAuditLog } from '../../src/store/audit-file.js';
import { tempDir } from '../helpers/core.js';

describe('audit log', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, remove } = await tempDir());
  });
  afterEach(() => remove());

  async function writeRecords(n: number): Promise<string> {
    const log = await FileAuditLog.open(dir);
    for (let i = 1; i <= n; i++)
      await log.append({ actor: `U${i}`, action: 'run.step_done', runId: 'run-a', keys: { vm: String(40 + i) }, outcome: 'ok', detail: `step ${i}` });
    await log.close();
    return log.file;
  }

  it('chains records and verifies, also across reopening', async () => {
    const file = await writeRecords(3);
    const again = await FileAuditLog.open(dir);
    const fourth = await again.append({ actor: 'vmbot', action: 'run.succeeded', outcome: 'ok' });
    await again.close();
    expect(fourth.seq).toBe(4);
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3, 4]);
    expect(lines[3].prev).toBe(lines[2].hash);
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 4 });
  });

  it('detects an edited line, a removed line and one cut short in the middle; names one cut short at the end', async () => {
    const file = await writeRecords(5);
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replace('"actor":"U3"', '"actor":"U9"'));
    expect(await verifyAuditLog(file)).toMatchObject({ ok: false, line: 3, records: 2, problem: 'its contents were changed after it was written' });
    const lines = original.trim().split('\n');
    await writeFile(file, [...lines.slice(0, 2), ...lines.slice(3)].join('\n') + '\n');
    expect(await verifyAuditLog(file)).toMatchObject({ ok: false, line: 3 });
    // Cut short at the end: an interrupted write as far as anyone can tell; the four before it verify, and it is named.
    await writeFile(file, original.slice(0, original.length - 20));
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 4, torn: { line: 5, bytes: Buffer.byteLength(lines[4]!) - 19 } });
    // Cut short in the middle (lines follow it): not an interrupted write.
    await writeFile(file, [...lines.slice(0, 2), lines[2]!.slice(0, 30), ...lines.slice(3)].join('\n') + '\n');
    expect(await verifyAuditLog(file)).toMatchObject({ ok: false, line: 3, problem: 'not an audit record' });
  });

  it('serializes concurrent appends into one unbroken chain', async () => {
    const log = await FileAuditLog.open(dir);
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.append({ actor: 'vmbot', action: 'x', outcome: 'info', detail: String(i) })));
    await log.close();
    expect(await verifyAuditLog(log.file)).toEqual({ ok: true, records: 50 });
  });

  it('exports with --since and as safe CSV', async () => {
    const file = await writeRecords(2);
    const all = [];
    for await (const r of readAuditRecords(file)) all.push(r);
    expect(all).toHaveLength(2);
    const future = [];
    for await (const r of readAuditRecords(file, new Date(Date.now() + 60_000))) future.push(r);
    expect(future).toEqual([]);
    const row = auditCsvRow({ ...all[0]!, detail: '=HYPERLINK("x"), "quoted"' });
    expect(row).toContain(`"'=HYPERLINK(""x""), ""quoted"""`);
    expect(row).toContain(',vm=41,');
  });

  it('refuses to open when the last line is not a record (never appends to a broken chain)', async () => {
    const file = await writeRecords(1);
    await writeFile(file, (await readFile(file, 'utf8')) + 'garbage\n');
    await expect(FileAuditLog.open(dir)).rejects.toThrow(/audit\.jsonl:2: the last line is not an audit record, though whole; run `vmbot audit verify`/);
  });
});
