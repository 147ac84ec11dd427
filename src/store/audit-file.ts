/**
 * The audit log as a file: `DATA_DIR/audit.jsonl`, one JSON line per record, appended only and
 * chained by `audit.ts`.
 */
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { AUDIT_FILE, auditRecordSchema, chainRecord, GENESIS, safeJson, type AuditEvent, type AuditLog, type AuditRecord } from './audit.js';

export class FileAuditLog implements AuditLog {
  readonly file: string;
  #fd: number | undefined;
  #lastHash = GENESIS;
  #seq = 0;

  private constructor(file: string) {
    this.file = file;
  }

  static async open(dataDir: string): Promise<FileAuditLog> {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const log = new FileAuditLog(join(dataDir, AUDIT_FILE));
    const last = await readLastLine(log.file);
    if (last !== undefined) {
      const parsed = auditRecordSchema.safeParse(safeJson(last));
      if (!parsed.success) throw new Error(`${log.file}: the last line is not an audit record; run \`vmbot audit verify\` to find what was changed`);
      log.#lastHash = parsed.data.hash;
      log.#seq = parsed.data.seq;
    }
    log.#fd = openSync(log.file, 'a', 0o600);
    return log;
  }

  /** Appends one record, chained to the one before; it is in the file when this returns. */
  append(event: AuditEvent): Promise<AuditRecord> {
    try {
      if (this.#fd === undefined) throw new Error(`${this.file} is closed`);
      // Typed by callers inside the bot; records are validated when read back.
      const record = chainRecord(event, { seq: this.#seq, hash: this.#lastHash });
      writeSync(this.#fd, `${JSON.stringify(record)}\n`);
      this.#seq = record.seq;
      this.#lastHash = record.hash;
      return Promise.resolve(record);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  async close(): Promise<void> {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** The last non-empty line, reading backwards from the end in small chunks. */
async function readLastLine(file: string): Promise<string | undefined> {
  if (!existsSync(file)) return undefined;
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    let end = size;
    let tail = '';
    while (end > 0) {
      const start = Math.max(0, end - 4096);
      const buffer = Buffer.alloc(end - start);
      await handle.read(buffer, 0, buffer.length, start);
      tail = buffer.toString('utf8') + tail;
      end = start;
      const trimmed = tail.replace(/\n+$/, '');
      const newline = trimmed.lastIndexOf('\n');
      if (newline >= 0) return trimmed.slice(newline + 1);
      if (end === 0) return trimmed || undefined;
    }
    return undefined;
  } finally {
    await handle.close();
  }
}
