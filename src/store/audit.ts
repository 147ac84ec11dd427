/**
 * The audit log: append-only JSON lines under DATA_DIR, one record per event, each chained to
 * the previous by SHA-256 so an edited, removed or reordered line is detected by `verify`.
 * Appending costs the same however long the log is: only the last line is read at open, and
 * each record is one small synchronous O_APPEND write — microseconds, and never queued behind
 * other file work in libuv's thread pool, so records land in the order events happen.
 */
import { text as asText } from '../text.js';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';

export const AUDIT_FILE = 'audit.jsonl';
export const GENESIS = '0'.repeat(64);

export const auditEventSchema = z.object({
  /** Who: a Slack user id (`U…`), `cli:<user>`, or `vmbot` for the bot's own actions. */
  actor: z.string().min(1),
  /** What happened, e.g. `run.step_done`, `request.approved`. */
  action: z.string().min(1),
  requestId: z.string().optional(),
  runId: z.string().optional(),
  vmName: z.string().optional(),
  keys: z.record(z.string(), z.string()).optional(),
  outcome: z.enum(['ok', 'failed', 'refused', 'info']),
  detail: z.string().optional(),
});
export type AuditEvent = z.infer<typeof auditEventSchema>;

export const auditRecordSchema = auditEventSchema.extend({
  seq: z.number().int().positive(),
  at: z.string(),
  prev: z.string().length(64),
  hash: z.string().length(64),
});
export type AuditRecord = z.infer<typeof auditRecordSchema>;

type Unhashed = Omit<AuditRecord, 'hash'>;
type KeyEntries = ReadonlyArray<readonly [string, string]>;

/**
 * The text a record's hash is taken over: its fields in a fixed order, and `keys` as a JSON object
 * with its entries in the order given. A new record lists them sorted by name, so the hash does
 * not depend on the order a store hands them back in (PostgreSQL's jsonb keeps its own).
 * Byte-for-byte what older versions hashed (`JSON.stringify` of the same array) when the entries
 * come in the order they did.
 */
function hashWith(record: Unhashed, keys: KeyEntries | undefined): string {
  const json = (v: unknown) => JSON.stringify(v);
  // An entry set to undefined (typed out, but appends are not parsed) is left out, as JSON.stringify
  // leaves it out of the stored record.
  const stored = keys?.filter(([, v]) => (v as string | undefined) !== undefined);
  const keysText = stored ? `{${stored.map(([k, v]) => `${json(k)}:${json(v)}`).join(',')}}` : 'null';
  const before = [record.seq, record.at, record.prev, record.actor, record.action, record.requestId ?? null, record.runId ?? null, record.vmName ?? null];
  const text = `[${before.map(json).join(',')},${keysText},${json(record.outcome)},${json(record.detail ?? null)}]`;
  return createHash('sha256').update(text).digest('hex');
}

function hashOf(record: Unhashed): string {
  const keys = record.keys && Object.entries(record.keys).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return hashWith(record, keys);
}

/** Beyond this many keys an older record is only tried in the order found (8! = 40,320 hashes). */
export const MAX_PERMUTED_KEYS = 8;

/**
 * Whether `hash` is the record's. Older versions hashed `keys` in insertion order: a file line
 * still has that order, but a PostgreSQL row lost it to jsonb, so for an older record every order
 * of its own entries is tried. That is as strong as hashing sorted entries: each ordering still
 * binds every value to its name, so a changed, added, removed or swapped name or value matches
 * none of them (short of a SHA-256 collision); only the order, which carries no meaning, is free.
 * Old and new records can't be told apart, so both are tried; the search runs only on a mismatch.
 */
function hashMatches(record: Unhashed, hash: string): boolean {
  if (hashOf(record) === hash) return true;
  const entries = Object.entries(record.keys ?? {});
  if (entries.length < 2) return false;
  if (hashWith(record, entries) === hash) return true;
  if (entries.length > MAX_PERMUTED_KEYS) return false;
  for (const order of permutations(entries)) if (hashWith(record, order) === hash) return true;
  return false;
}

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const tail of permutations(rest)) yield [items[i]!, ...tail];
  }
}

/** Where audit records go: the file in DATA_DIR, or PostgreSQL (`postgres/audit.ts`). */
export interface AuditLog {
  /** Appends one record, chained to the one before; it is stored when this resolves. */
  append(event: AuditEvent): Promise<AuditRecord>;
  close(): Promise<void>;
  /** Whether appends can work, from what is known (a file log whose sync failed can't until a restart). */
  health?(): { ok: true } | { ok: false; problem: string };
}

/** The record that follows `prev` (seq and hash), for any store of the chain. */
export function chainRecord(event: AuditEvent, prev: { seq: number; hash: string } | undefined): AuditRecord {
  const base = { ...event, seq: (prev?.seq ?? 0) + 1, at: new Date().toISOString(), prev: prev?.hash ?? GENESIS };
  return { ...base, hash: hashOf(base) };
}

export type VerifyResult =
  /** `torn`: the file's last line is an append cut short (no newline, not JSON); the records before it verify, and the bot cuts it off at its next start. */
  { ok: true; records: number; torn?: { line: number; bytes: number } } | { ok: false; records: number; line: number; problem: string };

/** Walks the whole chain; reports the first line that does not follow from the one before. */
export async function verifyAuditLog(file: string): Promise<VerifyResult> {
  if (!existsSync(file)) return { ok: true, records: 0 };
  const result = await verifyChain(
    (async function* () {
      for await (const text of readLines(file)) yield safeJson(text);
    })(),
  );
  if (result.ok) return result;
  // A failure on the very last line that never got its newline and is not JSON: an interrupted write, not an edit.
  const text = readFileSync(file);
  const start = text.subarray(0, text.length - 1).lastIndexOf(0x0a) + 1;
  const last = text.subarray(start);
  const lines = text.subarray(0, start).reduce((n, byte) => (byte === 0x0a ? n + 1 : n), 0);
  if (result.line === lines + 1 && last.length && last.at(-1) !== 0x0a && safeJson(last.toString('utf8')) === undefined)
    return { ok: true, records: result.records, torn: { line: result.line, bytes: last.length } };
  return result;
}

/** The same walk over records from anywhere (the file's lines, or PostgreSQL's rows in order). */
export async function verifyChain(records: AsyncIterable<unknown>): Promise<VerifyResult> {
  let prev = GENESIS;
  let line = 0;
  for await (const raw of records) {
    line++;
    const parsed = auditRecordSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, records: line - 1, line, problem: 'not an audit record' };
    const { hash, ...rest } = parsed.data;
    if (rest.seq !== line)
      return { ok: false, records: line - 1, line, problem: `sequence ${rest.seq} where ${line} was expected (a line was removed or moved)` };
    if (rest.prev !== prev)
      return { ok: false, records: line - 1, line, problem: 'does not chain to the line before it (a line was removed, moved or edited)' };
    if (!hashMatches(rest, hash)) return { ok: false, records: line - 1, line, problem: 'its contents were changed after it was written' };
    prev = hash;
  }
  return { ok: true, records: line };
}

/** Records from the log, optionally only those at or after `since`. */
export async function* readAuditRecords(file: string, since?: Date): AsyncGenerator<AuditRecord> {
  if (!existsSync(file)) return;
  for await (const text of readLines(file)) {
    const parsed = auditRecordSchema.safeParse(safeJson(text));
    if (!parsed.success) continue;
    if (since && new Date(parsed.data.at) < since) continue;
    yield parsed.data;
  }
}

export const AUDIT_CSV_COLUMNS = ['seq', 'at', 'actor', 'action', 'outcome', 'requestId', 'runId', 'vmName', 'keys', 'detail', 'hash'] as const;

export function auditCsvRow(record: AuditRecord): string {
  const cell = (v: unknown) => {
    const text =
      v === undefined
        ? ''
        : typeof v === 'object' && v !== null
          ? Object.entries(v as Record<string, string>)
              .map(([k, x]) => `${k}=${x}`)
              .join(' ')
          : asText(v);
    // Quote everything that could break a row, and defuse spreadsheet formulas.
    const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
    return /[",\n\r]/.test(safe) || safe !== text ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  return AUDIT_CSV_COLUMNS.map((c) => cell(record[c])).join(',');
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function readLines(file: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
}
