/**
 * Where each archived record's lines are in `archive.jsonl` (byte offsets), so finding one archived
 * request — and its runs — reads those lines only, not the whole archive. Built by one pass over
 * the file the first time it is asked, then kept up to date as lines are appended.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { requestRecordSchema, runRecordSchema, type RequestRecord, type RunRecord } from './records.js';

interface Span {
  offset: number;
  length: number;
}

export class ArchiveIndex {
  readonly #path: string;
  /** `requests:REQ-7`, `runs:run-…`, and `runs-of:REQ-7` (the runs of a request). */
  #spans: Map<string, Span[]> | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  /** Lines just appended at `offset` (the file's size before): indexed if the index is built. */
  appended(offset: number, lines: ReadonlyArray<{ table: string; record: { id: string; requestId?: string | undefined } }>): void {
    if (!this.#spans) return;
    let at = offset;
    for (const line of lines) {
      const length = Buffer.byteLength(`${JSON.stringify(line)}\n`);
      this.#add(line.table, line.record, { offset: at, length });
      at += length;
    }
  }

  async findRequest(id: string): Promise<RequestRecord | undefined> {
    return newest(
      this.#read(`requests:${id}`)
        .map((raw) => requestRecordSchema.safeParse(raw))
        .flatMap((p) => (p.success ? [p.data] : [])),
    )[0];
  }

  async runsOf(requestId: string): Promise<RunRecord[]> {
    return newest(
      this.#read(`runs-of:${requestId}`)
        .map((raw) => runRecordSchema.safeParse(raw))
        .flatMap((p) => (p.success ? [p.data] : [])),
    );
  }

  #add(table: string, record: { id: string; requestId?: string | undefined }, span: Span): void {
    const spans = this.#spans!;
    const put = (key: string) => spans.set(key, [...(spans.get(key) ?? []), span]);
    put(`${table}:${record.id}`);
    if (table === 'runs' && record.requestId) put(`runs-of:${record.requestId}`);
  }

  #build(): Map<string, Span[]> {
    this.#spans = new Map();
    if (!existsSync(this.#path)) return this.#spans;
    const text = readAll(this.#path);
    let offset = 0;
    for (const line of text.split('\n')) {
      const length = Buffer.byteLength(line) + 1;
      try {
        const entry = JSON.parse(line) as { table?: string; record?: { id?: unknown; requestId?: unknown } };
        if (entry.table && typeof entry.record?.id === 'string') {
          this.#add(
            entry.table,
            { id: entry.record.id, requestId: typeof entry.record.requestId === 'string' ? entry.record.requestId : undefined },
            { offset, length },
          );
        }
      } catch {
        // a torn line from a crash mid-append: not indexed
      }
      offset += length;
    }
    return this.#spans;
  }

  /** The records at a key's spans, read by position. */
  #read(key: string): unknown[] {
    const spans = (this.#spans ?? this.#build()).get(key) ?? [];
    if (!spans.length) return [];
    const fd = openSync(this.#path, 'r');
    try {
      return spans.flatMap((span) => {
        const buffer = Buffer.alloc(span.length);
        readSync(fd, buffer, 0, span.length, span.offset);
        try {
          return [(JSON.parse(buffer.toString('utf8')) as { record: unknown }).record];
        } catch {
          return [];
        }
      });
    } finally {
      closeSync(fd);
    }
  }
}

/** Newest version of each record, oldest record first. */
export function newest<T extends { id: string; version: number; createdAt: string }>(records: T[]): T[] {
  const byId = new Map<string, T>();
  for (const r of records) if ((byId.get(r.id)?.version ?? -1) < r.version) byId.set(r.id, r);
  return [...byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

function readAll(path: string): string {
  const size = statSync(path).size;
  const buffer = Buffer.alloc(size);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buffer, 0, size, 0);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('utf8');
}
