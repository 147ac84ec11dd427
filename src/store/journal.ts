/**
 * The embedded store's journal files: `vmbot.journal.<N>.jsonl`, one generation per compaction,
 * each line a record's new version (with a checksum of its JSON, so replay can trust what this
 * bot wrote), a record's removal, or a counter.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RequestRecord, RunRecord } from './records.js';

export type Table = 'runs' | 'requests';

/** The journal of versions before generations (replayed as generation 0). */
const LEGACY_JOURNAL = 'vmbot.journal.jsonl';
const JOURNAL_NAME = /^vmbot\.journal\.(\d+)\.jsonl$/;
export const journalFile = (generation: number): string => `vmbot.journal.${generation}.jsonl`;
/** Journal lines carry this many hex digits of their record's SHA-256. */
const SUM_LENGTH = 16;

/** A record left the working set (archived). */
export function removalLine(table: Table, id: string): string {
  return `${JSON.stringify({ table, remove: id })}\n`;
}

/** A sequence's last number handed out. */
export function counterLine(name: string, value: number): string {
  return `${JSON.stringify({ table: 'counters', record: { name, value } })}\n`;
}

/** The line for a record's new version. */
export function recordLine(table: Table, record: RunRecord | RequestRecord): string {
  const json = JSON.stringify(record);
  return `{"table":"${table}","sum":"${sumOf(json)}","record":${json}}\n`;
}

function sumOf(json: string): string {
  return createHash('sha256').update(json).digest('hex').slice(0, SUM_LENGTH);
}

/** A journal line this bot wrote (its record matches its checksum), parsed; undefined otherwise. */
export function trustedRecord(line: string): { table: Table; record: RunRecord | RequestRecord } | undefined {
  const m = /^\{"table":"(runs|requests)","sum":"([0-9a-f]{16})","record":/.exec(line);
  if (!m || !line.endsWith('}')) return undefined;
  const json = line.slice(m[0].length, -1);
  if (sumOf(json) !== m[2]) return undefined;
  try {
    return { table: m[1] as Table, record: JSON.parse(json) as RunRecord | RequestRecord };
  } catch {
    return undefined;
  }
}

/** Journal files in a data directory, oldest generation first (the pre-generation journal is 0). */
export function journalsIn(dataDir: string): Array<{ generation: number; name: string; bytes: number }> {
  const out: Array<{ generation: number; name: string; bytes: number }> = [];
  for (const name of readdirSync(dataDir)) {
    const m = JOURNAL_NAME.exec(name);
    const generation = name === LEGACY_JOURNAL ? 0 : m ? Number(m[1]) : undefined;
    if (generation === undefined) continue;
    out.push({ generation, name, bytes: statSync(join(dataDir, name)).size });
  }
  return out.sort((a, b) => a.generation - b.generation || (a.name === LEGACY_JOURNAL ? -1 : 1));
}
