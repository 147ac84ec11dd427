/**
 * Where each archived record's lines are in `archive.jsonl` (byte offsets), so finding one archived
 * request — and its runs — reads those lines only, never the whole archive. The index is kept in
 * `archive.idx` beside it (one short line per archived request or run line, appended with it) and
 * read at open; archive lines the index does not cover (an archive from before the index, or a
 * crash between the two appends) are indexed from the archive itself and added to it. VM records
 * are only ever read back all together, so their lines are not indexed.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { AppendOnlyFile } from './durable-file.js';
import { setAsideTail, tornTailNote } from './torn-tail.js';
import { RECORD_TABLES } from './journal.js';
import { requestRecordSchema, runRecordSchema, type RequestRecord, type RunRecord } from './records.js';

export const ARCHIVE_INDEX_FILE = 'archive.idx';
/** The tables whose archived lines are indexed (requests by id, runs by their request). */
const INDEXED_TABLES: ReadonlySet<string> = new Set(['runs', 'requests']);
const SCAN_CHUNK = 8 << 20;

export interface Span {
  offset: number;
  length: number;
}

interface Entry {
  table: string;
  id: string;
  requestId?: string | undefined;
}

/**
 * Byte spans in typed arrays, chained per key (each span points at the one filed before it under
 * the same key): a year of archive costs a few megabytes of memory, not tens.
 */
class SpanChains {
  #offsets = new Float64Array(1024);
  #lengths = new Uint32Array(1024);
  #previous = new Int32Array(1024);
  #size = 0;
  readonly #heads = new Map<string, number>();

  add(key: string, span: Span): void {
    if (this.#size === this.#offsets.length) {
      const grow = <A extends Float64Array | Uint32Array | Int32Array>(from: A, to: A): A => (to.set(from), to);
      this.#offsets = grow(this.#offsets, new Float64Array(this.#size * 2));
      this.#lengths = grow(this.#lengths, new Uint32Array(this.#size * 2));
      this.#previous = grow(this.#previous, new Int32Array(this.#size * 2));
    }
    const i = this.#size++;
    this.#offsets[i] = span.offset;
    this.#lengths[i] = span.length;
    this.#previous[i] = this.#heads.get(key) ?? -1;
    this.#heads.set(key, i);
  }

  /** The spans filed under `key`, in the order they were added. */
  get(key: string): Span[] {
    const spans: Span[] = [];
    for (let i = this.#heads.get(key) ?? -1; i >= 0; i = this.#previous[i]!) spans.push({ offset: this.#offsets[i]!, length: this.#lengths[i]! });
    return spans.reverse();
  }
}

export class ArchiveIndex {
  /** A request's versions by its id, and the runs of a request by the request's id. */
  readonly #requests = new SpanChains();
  readonly #runsOf = new SpanChains();
  #index: AppendOnlyFile | undefined;

  constructor(
    private readonly archivePath: string,
    private readonly indexPath: string,
  ) {}

  /**
   * Reads the index (and indexes what it lacks). `write`: keep `archive.idx` up to date, as the
   * store's one writer does, cutting off a torn last line of the archive (noted in `notes`); a
   * read-only reader only reads.
   */
  load(write: boolean, notes: string[] = []): void {
    if (write && existsSync(this.archivePath)) cutTornArchiveLine(this.archivePath, notes);
    let covered = 0;
    if (existsSync(this.indexPath)) {
      for (const line of readFileSync(this.indexPath, 'utf8').split('\n')) {
        const [table, id, requestId, offset, length] = line.split('\t');
        if (!table || !id || !/^\d+$/.test(offset ?? '') || !/^\d+$/.test(length ?? '')) continue; // a torn last line
        const span = { offset: Number(offset), length: Number(length) };
        this.#add({ table: table === 'r' ? 'requests' : 'runs', id, requestId: requestId || undefined }, span);
        covered = Math.max(covered, span.offset + span.length);
      }
    }
    if (write) {
      const fd = openSync(this.indexPath, 'a+', 0o600);
      try {
        endWithNewline(fd); // the index is derived: a torn line of it is skipped above, never cut
      } finally {
        closeSync(fd);
      }
      this.#index = AppendOnlyFile.open(this.indexPath);
    }
    if (existsSync(this.archivePath)) this.#scan(covered);
  }

  /** Lines just appended to the archive, and where each went. */
  appended(lines: ReadonlyArray<{ table: string; record: { id: string; requestId?: string | undefined } }>, spans: readonly Span[]): void {
    this.#record(lines.map((line, i) => ({ entry: { table: line.table, id: line.record.id, requestId: line.record.requestId }, span: spans[i]! })));
  }

  async findRequest(id: string): Promise<RequestRecord | undefined> {
    return newest(
      this.#read(this.#requests.get(id))
        .map((raw) => requestRecordSchema.safeParse(raw))
        .flatMap((p) => (p.success ? [p.data] : [])),
    )[0];
  }

  async runsOf(requestId: string): Promise<RunRecord[]> {
    return newest(
      this.#read(this.#runsOf.get(requestId))
        .map((raw) => runRecordSchema.safeParse(raw))
        .flatMap((p) => (p.success ? [p.data] : [])),
    );
  }

  close(): void {
    void this.#index?.close();
    this.#index = undefined;
  }

  #record(lines: Array<{ entry: Entry; span: Span }>): void {
    // VM records are not looked up one at a time (only read back whole): not indexed.
    const entries = lines.filter(({ entry }) => INDEXED_TABLES.has(entry.table));
    for (const { entry, span } of entries) this.#add(entry, span);
    if (this.#index === undefined || !entries.length) return;
    // Not synced: the index is rebuilt from the archive for whatever it lacks.
    this.#index.append(
      entries
        .map(({ entry, span }) => `${entry.table === 'requests' ? 'r' : 'u'}\t${entry.id}\t${entry.requestId ?? ''}\t${span.offset}\t${span.length}\n`)
        .join(''),
    );
  }

  #add(entry: Entry, span: Span): void {
    if (entry.table === 'requests') this.#requests.add(entry.id, span);
    else if (entry.table === 'runs' && entry.requestId) this.#runsOf.add(entry.requestId, span);
  }

  /** Index the archive's lines from byte `from` on, a chunk at a time. */
  #scan(from: number): void {
    const fd = openSync(this.archivePath, 'r');
    try {
      const size = fstatSync(fd).size;
      const found: Array<{ entry: Entry; span: Span }> = [];
      let offset = from;
      let carry = Buffer.alloc(0);
      while (offset + carry.length < size) {
        const chunk = Buffer.alloc(Math.min(SCAN_CHUNK, size - offset - carry.length));
        readSync(fd, chunk, 0, chunk.length, offset + carry.length);
        const buffer = carry.length ? Buffer.concat([carry, chunk]) : chunk;
        let start = 0;
        for (let end = buffer.indexOf(0x0a); end >= 0; end = buffer.indexOf(0x0a, start)) {
          const entry = entryOf(buffer.subarray(start, end).toString('utf8'));
          if (entry) found.push({ entry, span: { offset: offset + start, length: end - start + 1 } });
          start = end + 1;
        }
        offset += start;
        carry = buffer.subarray(start);
      }
      this.#record(found);
    } finally {
      closeSync(fd);
    }
  }

  /** The records at these spans, read by position. */
  #read(spans: Span[]): unknown[] {
    if (!spans.length) return [];
    const fd = openSync(this.archivePath, 'r');
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

/** An archive line's table and ids, if it is a whole line of a table the store archives. */
function entryOf(line: string): Entry | undefined {
  try {
    const parsed = JSON.parse(line) as { table?: unknown; record?: { id?: unknown; requestId?: unknown } };
    if (!(RECORD_TABLES as readonly unknown[]).includes(parsed.table) || typeof parsed.record?.id !== 'string') return undefined;
    return {
      table: parsed.table as string,
      id: parsed.record.id,
      requestId: typeof parsed.record.requestId === 'string' ? parsed.record.requestId : undefined,
    };
  } catch {
    return undefined; // a line torn by a crash mid-append
  }
}

/**
 * The archive's last line, if an append was cut short (not a whole record): set aside beside the
 * archive so the next append starts on a line of its own. A whole last line without its newline
 * gets one.
 */
function cutTornArchiveLine(path: string, notes: string[]): void {
  const fd = openSync(path, 'a+');
  let cut: { offset: number; line: number; bytes: number } | undefined;
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] === 0x0a) return;
    const text = readFileSync(path);
    const start = text.lastIndexOf(0x0a) + 1;
    if (entryOf(text.subarray(start).toString('utf8'))) {
      writeSync(fd, '\n');
      return;
    }
    let line = 1;
    for (let i = text.indexOf(0x0a); i >= 0 && i < start; i = text.indexOf(0x0a, i + 1)) line++;
    cut = { offset: start, line, bytes: size - start };
  } finally {
    closeSync(fd);
  }
  notes.push(tornTailNote(path, cut.line, cut.bytes, setAsideTail(path, cut.offset, 'torn')));
}

/**
 * A line torn by a crash mid-append must not swallow the next one: the file is made to end with a
 * newline before anything is appended. Returns the file's size after.
 */
export function endWithNewline(fd: number): number {
  const size = fstatSync(fd).size;
  if (size === 0) return 0;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] === 0x0a ? size : size + writeSync(fd, '\n');
}

/** Newest version of each record, oldest record first. */
export function newest<T extends { id: string; version: number; createdAt: string }>(records: T[]): T[] {
  const byId = new Map<string, T>();
  for (const r of records) if ((byId.get(r.id)?.version ?? -1) < r.version) byId.set(r.id, r);
  return [...byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}
