/**
 * `vmbot store repair`: mends the embedded store's line files (journals, archive, audit log) after
 * damage in the middle — a torn line an older version kept appending after, a disk error, a bad
 * hand edit. Every intact line before and after the damage is kept. A damaged line that ends
 * with a whole record (an interrupted write, then the retry appended to it) keeps that record;
 * what cannot be read is moved, byte for byte, into `<file>.damaged-<time>` beside it, and the
 * report says which lines went. Nothing is written unless something was damaged.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AUDIT_FILE, auditRecordSchema, safeJson, verifyAuditLog } from './audit.js';
import { ARCHIVE_FILE } from './archive.js';
import { ARCHIVE_INDEX_FILE } from './archive-index.js';
import { syncDirectory } from './durable-file.js';
import { journalsIn, parseJournalLine } from './journal.js';
import { releaseLock, takeLock } from './lock-file.js';
import { fileStamp, writeAll } from './torn-tail.js';

export interface RepairedFile {
  file: string;
  /** Lines kept as they were, or as the whole record found at their end. */
  kept: number;
  /** Damaged lines: dropped whole, or cut to the record they end with (`salvaged`). */
  damaged: Array<{ line: number; bytes: number; salvaged: boolean }>;
  /** Where the dropped bytes went. */
  setAside?: string;
}

export interface RepairReport {
  files: RepairedFile[];
  /** The audit chain after the repair: whole, or where it still breaks (a record lost can't be re-chained). */
  audit: { ok: true; records: number } | { ok: false; line: number; problem: string };
}

/** One kind of line file: what a good line is. */
interface LineKind {
  valid(line: string): boolean;
}

const JOURNAL: LineKind = { valid: (line) => typeof parseJournalLine(line) !== 'string' };
const AUDIT: LineKind = { valid: (line) => auditRecordSchema.safeParse(safeJson(line)).success };
/** Where a record may start inside a damaged line (nested objects fail validation, so the first that passes is the record). */
const OBJECT_START = '{"';

/** Repairs DATA_DIR's line files; the bot must be stopped (the writer lock is taken). */
export async function repairDataDir(dataDir: string): Promise<RepairReport> {
  const lock = takeLock(dataDir);
  try {
    const files: RepairedFile[] = [];
    for (const { name } of journalsIn(dataDir)) files.push(repairLines(join(dataDir, name), JOURNAL));
    if (existsSync(join(dataDir, ARCHIVE_FILE))) {
      const archive = repairLines(join(dataDir, ARCHIVE_FILE), JOURNAL);
      files.push(archive);
      // Byte offsets moved: the index is rebuilt from the archive at the next open.
      if (archive.damaged.length && existsSync(join(dataDir, ARCHIVE_INDEX_FILE))) unlinkSync(join(dataDir, ARCHIVE_INDEX_FILE));
    }
    if (existsSync(join(dataDir, AUDIT_FILE))) files.push(repairLines(join(dataDir, AUDIT_FILE), AUDIT));
    const verified = await verifyAuditLog(join(dataDir, AUDIT_FILE));
    return { files, audit: verified.ok ? { ok: true, records: verified.records } : { ok: false, line: verified.line, problem: verified.problem } };
  } finally {
    releaseLock(lock);
  }
}

function repairLines(path: string, kind: LineKind): RepairedFile {
  const text = readFileSync(path);
  const keep: Buffer[] = [];
  const drop: Buffer[] = [];
  const damaged: RepairedFile['damaged'] = [];
  let kept = 0;
  let line = 0;
  for (let offset = 0; offset < text.length;) {
    const newline = text.indexOf(0x0a, offset);
    const end = newline < 0 ? text.length : newline;
    const raw = text.subarray(offset, end);
    line++;
    offset = end + 1;
    const content = raw.toString('utf8');
    if (content.trim() === '') continue;
    if (kind.valid(content)) {
      keep.push(raw, Buffer.from('\n'));
      kept++;
      continue;
    }
    const record = wholeRecordAtEnd(content, kind);
    if (record !== undefined) {
      const prefix = raw.subarray(0, raw.length - Buffer.byteLength(record));
      keep.push(Buffer.from(`${record}\n`));
      drop.push(prefix, Buffer.from('\n'));
      damaged.push({ line, bytes: prefix.length, salvaged: true });
      kept++;
    } else {
      drop.push(raw, Buffer.from('\n'));
      damaged.push({ line, bytes: raw.length, salvaged: false });
    }
  }
  const report: RepairedFile = { file: basename(path), kept, damaged };
  if (!damaged.length) return report;
  // What goes is kept first, then the file is replaced whole (written aside, synced, renamed).
  const side = `${path}.damaged-${fileStamp()}`;
  writeSynced(side, Buffer.concat(drop), 'a');
  const temp = `${path}.repair.tmp`;
  writeSynced(temp, Buffer.concat(keep), 'w');
  renameSync(temp, path);
  syncDirectory(dirname(path));
  return { ...report, setAside: basename(side) };
}

/** The last whole record a damaged line ends with (an interrupted write, and then the next one after it), if any. */
function wholeRecordAtEnd(content: string, kind: LineKind): string | undefined {
  for (let at = content.indexOf(OBJECT_START, 1); at > 0; at = content.indexOf(OBJECT_START, at + 1)) {
    const candidate = content.slice(at);
    if (kind.valid(candidate)) return candidate;
  }
  return undefined;
}

function writeSynced(path: string, data: Buffer, flags: 'a' | 'w'): void {
  const fd = openSync(path, flags, 0o600);
  try {
    writeAll(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
