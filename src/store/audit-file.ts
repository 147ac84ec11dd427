/**
 * The audit log as a file: `DATA_DIR/audit.jsonl`, one JSON line per record, appended only and
 * chained by `audit.ts`. Each record is one synchronous append (records land in the order events
 * happen), whole or not at all, and on disk before `append` resolves. A last line an interrupted
 * write left behind is cut off at open (kept beside the file, and noted); the chain goes on from
 * the last whole record.
 */
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { AUDIT_FILE, auditRecordSchema, chainRecord, GENESIS, safeJson, type AuditEvent, type AuditLog, type AuditRecord } from './audit.js';
import { AppendOnlyFile, unwritable, type FileSystem } from './durable-file.js';
import { StoreError } from './store.js';
import { setAsideTail, tornTailNote } from './torn-tail.js';

export interface FileAuditOptions {
  /** Only to read (`vmbot runs` on a read-only DATA_DIR): nothing is cut, appends are refused. */
  readOnly?: boolean;
  fs?: FileSystem;
}

export class FileAuditLog implements AuditLog {
  readonly file: string;
  #file: AppendOnlyFile | undefined;
  #lastHash = GENESIS;
  #seq = 0;
  #readOnly = false;
  /** What opening found and mended (a torn last line cut off). */
  readonly notes: string[] = [];

  private constructor(file: string) {
    this.file = file;
  }

  static async open(dataDir: string, options: FileAuditOptions = {}): Promise<FileAuditLog> {
    const log = new FileAuditLog(join(dataDir, AUDIT_FILE));
    log.#readOnly = options.readOnly ?? false;
    if (log.#readOnly) return log;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    for (;;) {
      const last = await readLastLine(log.file);
      if (last === undefined) break;
      const parsed = auditRecordSchema.safeParse(safeJson(last.text));
      if (parsed.success) {
        log.#lastHash = parsed.data.hash;
        log.#seq = parsed.data.seq;
        if (last.unterminated) appendFileSync(log.file, '\n'); // a whole record whose newline a crash cut off: the next starts its own line
        break;
      }
      // Not a record: an append cut short (a crash, a full disk). Kept aside, never just dropped.
      if (!last.unterminated || safeJson(last.text) !== undefined)
        throw new StoreError(
          'STORE_CORRUPT',
          `${log.file}:${await last.line()}: the last line is not an audit record, though whole; run \`vmbot audit verify\` to see what was changed, and \`vmbot store repair\` to set it aside`,
        );
      log.notes.push(tornTailNote(log.file, await last.line(), last.bytes, setAsideTail(log.file, last.offset, 'torn')));
    }
    log.#file = AppendOnlyFile.open(log.file, options.fs);
    return log;
  }

  /** Appends one record, chained to the one before; it is on disk when this resolves. */
  async append(event: AuditEvent): Promise<AuditRecord> {
    if (this.#file === undefined) throw new StoreError('STORE_UNAVAILABLE', this.#readOnly ? `${this.file} was opened read-only` : `${this.file} is closed`);
    // Typed by callers inside the bot; records are validated when read back.
    const record = chainRecord(event, { seq: this.#seq, hash: this.#lastHash });
    try {
      this.#file.append(`${JSON.stringify(record)}\n`);
    } catch (err) {
      throw unwritable(this.file, err);
    }
    this.#seq = record.seq;
    this.#lastHash = record.hash;
    try {
      await this.#file.sync();
    } catch (err) {
      // In the file already, though perhaps not on disk: never to be appended again.
      throw Object.assign(new StoreError('STORE_UNWRITABLE', unwritable(this.file, err).message), { recorded: true });
    }
    return record;
  }

  /** Whether appends work, from what is known: a failed sync leaves the log untrustworthy until a restart. */
  health(): { ok: true } | { ok: false; problem: string } {
    const broken = this.#file?.broken;
    return broken ? { ok: false, problem: `${broken.message}; restart the bot once the disk is healthy` } : { ok: true };
  }

  async close(): Promise<void> {
    await this.#file?.close();
    this.#file = undefined;
  }
}

/** The last non-empty line (its text, 1-based line number, byte offset and length), read backwards from the end. */
async function readLastLine(
  file: string,
): Promise<{ text: string; offset: number; bytes: number; unterminated: boolean; line: () => Promise<number> } | undefined> {
  if (!existsSync(file)) return undefined;
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    let tail = Buffer.alloc(0);
    let start = size;
    let lineStart = -1;
    let contentEnd = size;
    while (start > 0 && lineStart < 0) {
      const from = Math.max(0, start - 4096);
      const chunk = Buffer.alloc(start - from);
      await handle.read(chunk, 0, chunk.length, from);
      tail = Buffer.concat([chunk, tail]);
      start = from;
      contentEnd = start + trimmedLength(tail);
      const newline = tail.subarray(0, contentEnd - start).lastIndexOf(0x0a);
      if (newline >= 0) lineStart = start + newline + 1;
      else if (start === 0) lineStart = 0;
    }
    if (contentEnd <= lineStart || lineStart < 0) return undefined;
    const text = tail.subarray(lineStart - start, contentEnd - start).toString('utf8');
    // A write cut short never got to its newline: a whole line that is not a record was changed, not torn.
    return { text, offset: lineStart, bytes: size - lineStart, unterminated: contentEnd === size, line: () => lineNumberAt(file, lineStart) };
  } finally {
    await handle.close();
  }
}

/** Length of `buffer` without its trailing newlines. */
function trimmedLength(buffer: Buffer): number {
  let end = buffer.length;
  while (end > 0 && buffer[end - 1] === 0x0a) end--;
  return end;
}

/** 1 + newlines before `offset` (reads the file: only for the rare torn or damaged line). */
async function lineNumberAt(file: string, offset: number): Promise<number> {
  const handle = await open(file, 'r');
  try {
    let line = 1;
    const chunk = Buffer.alloc(1 << 20);
    for (let at = 0; at < offset; at += chunk.length) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, offset - at), at);
      for (let i = 0; i < bytesRead; i++) if (chunk[i] === 0x0a) line++;
    }
    return line;
  } finally {
    await handle.close();
  }
}
