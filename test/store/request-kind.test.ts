/**
 * Requests say what they ask for (`kind`: vm, batch, extension). One written before they did —
 * in a trusted journal line, or a snapshot without its digest — is given its kind when read, from
 * the field it has, on both of the embedded store's read paths.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LowdbStore } from '../../src/store/lowdb.js';
import { requestRecordSchema } from '../../src/store/records.js';
import { fullSpec, pendingRequest } from '../helpers/full-spec.js';
import { tempDir } from '../helpers/core.js';

/** A request as a version before `kind` wrote it. */
function older(id: string, fields: Record<string, unknown>): Record<string, unknown> {
  const record: Record<string, unknown> = { ...pendingRequest(id, fullSpec(`vm-${id.toLowerCase()}`)) };
  delete record.kind;
  return { ...record, ...fields };
}

const OLD = [
  older('REQ-1', {}),
  older('REQ-2', { batch: { count: 3, pattern: 'web-{n}' } }),
  older('REQ-3', { extension: { runId: 'run-x', until: '2027-01-01T00:00:00.000Z' } }),
];
const KINDS = { 'REQ-1': 'vm', 'REQ-2': 'batch', 'REQ-3': 'extension' };

describe('request kinds', () => {
  it('the schema gives an older request its kind, and refuses a kind its fields contradict', () => {
    expect(OLD.map((r) => requestRecordSchema.parse(r).kind)).toEqual(['vm', 'batch', 'extension']);
    expect(requestRecordSchema.safeParse({ ...OLD[0], kind: 'batch' }).success).toBe(false);
    expect(requestRecordSchema.safeParse({ ...OLD[1], kind: 'vm' }).success).toBe(false);
  });

  it('older requests in a trusted journal, or in a snapshot without its digest, are read back with their kind', async () => {
    const { dir, remove } = await tempDir();
    try {
      // Journal lines carrying this bot's checksum are trusted (not validated again).
      const line = (record: unknown) => {
        const json = JSON.stringify(record);
        const sum = createHash('sha256').update(json).digest('hex').slice(0, 16);
        return `{"table":"requests","sum":"${sum}","record":${json}}\n`;
      };
      await writeFile(join(dir, 'vmbot.journal.0.jsonl'), OLD.map(line).join(''), { mode: 0o600 });
      const fromJournal = await LowdbStore.open(dir, { readOnly: true });
      expect(Object.fromEntries(fromJournal.listRequests().map((r) => [r.id, r.kind]))).toEqual(KINDS);
      await fromJournal.close();

      const { dir: dir2, remove: remove2 } = await tempDir();
      try {
        await writeFile(join(dir2, 'vmbot.json'), JSON.stringify({ version: 1, journal: 0, runs: [], requests: OLD, counters: {} }), { mode: 0o600 });
        const fromSnapshot = await LowdbStore.open(dir2, { readOnly: true });
        expect(Object.fromEntries(fromSnapshot.listRequests().map((r) => [r.id, r.kind]))).toEqual(KINDS);
        await fromSnapshot.close();
      } finally {
        await remove2();
      }
    } finally {
      await remove();
    }
  });
});
