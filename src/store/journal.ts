/**
 * The embedded store's journal files: `vmbot.journal.<N>.jsonl`, one generation per compaction,
 * each line a record's new version (with a checksum of its JSON, so replay can trust what this
 * bot wrote), a record's removal, or a counter.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from './store.js';
import { requestRecordSchema, runRecordSchema, vmRecordSchema, withRequestKind, type RequestRecord, type RunRecord, type VmRecord } from './records.js';

export type Table = 'runs' | 'requests' | 'vms';
/** A record of any table, as a journal or archive line carries it. */
export type StoredRecord = RunRecord | RequestRecord | VmRecord;
export const RECORD_TABLES: readonly Table[] = ['runs', 'requests', 'vms'];
const isTable = (name: unknown): name is Table => (RECORD_TABLES as readonly unknown[]).includes(name);
/** How a table's records are checked when nothing vouches for them (a hand edit, an older version's line). */
export const RECORD_SCHEMAS = { runs: runRecordSchema, requests: requestRecordSchema, vms: vmRecordSchema } as const;
const NOUNS: Record<Table, string> = { runs: 'run', requests: 'request', vms: 'VM' };

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
export function recordLine(table: Table, record: StoredRecord): string {
  const json = JSON.stringify(record);
  return `{"table":"${table}","sum":"${sumOf(json)}","record":${json}}\n`;
}

function sumOf(json: string): string {
  return createHash('sha256').update(json).digest('hex').slice(0, SUM_LENGTH);
}

/** A journal line this bot wrote (its record matches its checksum), parsed; undefined otherwise. */
export function trustedRecord(line: string): { table: Table; record: StoredRecord } | undefined {
  const m = /^\{"table":"(runs|requests|vms)","sum":"([0-9a-f]{16})","record":/.exec(line);
  if (!m || !line.endsWith('}')) return undefined;
  const json = line.slice(m[0].length, -1);
  if (sumOf(json) !== m[2]) return undefined;
  try {
    const table = m[1] as Table;
    const record = JSON.parse(json) as StoredRecord;
    // Written by an older version, a request may not say its kind yet.
    return { table, record: table === 'requests' ? withRequestKind(record) : record };
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

const NOT_JSON = 'is not valid JSON';

/** One journal line, read. */
export type JournalEntry =
  | { kind: 'record'; table: Table; record: StoredRecord }
  | { kind: 'remove'; table: Table; id: string }
  | { kind: 'counter'; name: string; value: number }
  | { kind: 'other' };

/** A journal line parsed (and validated unless its checksum vouches for it); a string says why it is not a journal line. */
export function parseJournalLine(line: string): JournalEntry | string {
  const trusted = trustedRecord(line);
  if (trusted) return { kind: 'record', ...trusted };
  let entry: { table?: unknown; record?: unknown; remove?: unknown };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return NOT_JSON;
  }
  if (typeof entry !== 'object' || entry === null) return 'is not a journal line';
  if (isTable(entry.table)) {
    if (typeof entry.remove === 'string') return { kind: 'remove', table: entry.table, id: entry.remove };
    const parsed = RECORD_SCHEMAS[entry.table].safeParse(entry.record);
    if (!parsed.success) return `is not a ${NOUNS[entry.table]} record (${parsed.error.issues[0]?.message})`;
    return { kind: 'record', table: entry.table, record: parsed.data };
  }
  if (entry.table === 'counters') {
    const { name, value } = (entry.record ?? {}) as { name?: unknown; value?: unknown };
    if (typeof name !== 'string' || typeof value !== 'number') return 'is not a counter record';
    return { kind: 'counter', name, value };
  }
  return { kind: 'other' };
}

/** A last line an interrupted append left behind: where it starts, and how long it is. */
export interface TornTail {
  offset: number;
  bytes: number;
  line: number;
}

/**
 * A journal's entries in order. A damaged last line is an append cut short (the write that made
 * it never returned, so nothing it held was acknowledged): it is returned as `torn`, not applied.
 * Damage anywhere before the last line is reported with file:line and how to repair it.
 */
export function readJournal(path: string): { entries: JournalEntry[]; torn: TornTail | undefined } {
  const text = readFileSync(path);
  const entries: JournalEntry[] = [];
  let offset = 0;
  let line = 0;
  while (offset < text.length) {
    const newline = text.indexOf(0x0a, offset);
    const end = newline < 0 ? text.length : newline;
    line++;
    const content = text.subarray(offset, end).toString('utf8');
    if (content.trim() !== '') {
      const parsed = parseJournalLine(content);
      if (typeof parsed === 'string') {
        // Cut short: not JSON, with nothing after it (an older version put a newline after it).
        const last = text.subarray(end).toString('utf8').trim() === '';
        if (last && parsed === NOT_JSON) return { entries, torn: { offset, bytes: text.length - offset, line } };
        throw new StoreError('STORE_CORRUPT', damagedLineMessage(path, line, parsed));
      }
      entries.push(parsed);
    }
    offset = end + 1;
  }
  return { entries, torn: undefined };
}

/** The words for a damaged line in the middle of one of the store's files. */
export function damagedLineMessage(path: string, line: number, problem: string): string {
  return `${path}:${line} ${problem}. Stop the bot and run \`vmbot store repair\`: it keeps every intact record before and after the damage and sets the damaged lines aside.`;
}
