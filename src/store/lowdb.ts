/**
 * The embedded store: one lowdb JSON file under DATA_DIR, validated with zod when read, written by one
 * process at a time (a lock file), changed only by compare-and-set. A corrupt or hand-edited file
 * stops start-up with a message naming the file and what is wrong; it is never overwritten.
 *
 * Durability without rewriting the whole file per change: every changed record is first
 * appended (synchronously, a small O_APPEND write) to a journal beside it, then the lowdb file
 * is rewritten in the background, coalescing changes. At open the journal is replayed onto the
 * file (newer versions win) and emptied. So a change is safe from a process crash as soon as
 * the update returns, at a cost that does not grow with the number of runs.
 */
import { closeSync, chmodSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { PrivateJsonFile } from './private-file.js';
import { ArchiveIndex } from './archive-index.js';
import { formatPath } from '../vmspec/validate.js';
import { StoreError, type Store, type StoreExpect } from './store.js';
import {
  requestRecordSchema,
  runRecordSchema,
  storeFileSchema,
  type RequestRecord,
  type RequestState,
  type RunRecord,
  type RunState,
  type StoreFile,
} from './records.js';

export const STORE_FILE = 'vmbot.json';
export const JOURNAL_FILE = 'vmbot.journal.jsonl';
export const ARCHIVE_FILE = 'archive.jsonl';
const LOCK_FILE = 'vmbot.lock';
/** Compact the journal (after a confirmed full write) once it grows past this. */
const JOURNAL_COMPACT_BYTES = 4 * 1024 * 1024;
const REWRITE_INTERVAL_MS = 200;

const emptyStore = (): StoreFile => ({ version: 1, runs: [], requests: [], counters: {} });

export interface OpenStoreOptions {
  /** Read without taking the writer lock (for `vmbot runs` while the bot runs). Writes are refused. */
  readOnly?: boolean;
  /**
   * Finished runs and decided requests untouched for this long move to `archive.jsonl` at open,
   * so the file rewritten in the background stays small. Default 30 days.
   */
  archiveAfterMs?: number;
}

export class LowdbStore implements Store {
  readonly file: string;
  readonly #db: Low<StoreFile>;
  readonly #lockPath: string | undefined;
  readonly #readOnly: boolean;
  #journalFd: number | undefined;
  #journalBytes = 0;
  /** Counts journal appends, so compaction knows whether a write covered all of them. */
  #journalSeq = 0;
  #writeError: Error | undefined;
  #closed = false;
  #archiveAfterMs = 30 * 86_400_000;
  /** Where archived records are in archive.jsonl, for finding one without reading them all. */
  #archive: ArchiveIndex;

  private constructor(
    readonly dataDir: string,
    db: Low<StoreFile>,
    lockPath: string | undefined,
    readOnly: boolean,
  ) {
    this.file = join(dataDir, STORE_FILE);
    this.#archive = new ArchiveIndex(join(dataDir, ARCHIVE_FILE));
    this.#db = db;
    this.#lockPath = lockPath;
    this.#readOnly = readOnly;
  }

  static async open(dataDir: string, options: OpenStoreOptions = {}): Promise<LowdbStore> {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const lockPath = options.readOnly ? undefined : takeLock(join(dataDir, LOCK_FILE));
    try {
      const file = join(dataDir, STORE_FILE);
      const db = new Low<StoreFile>(new PrivateJsonFile<StoreFile>(file), emptyStore());
      try {
        await db.read();
      } catch (err) {
        throw new StoreError('STORE_CORRUPT', `${file} is not valid JSON (${(err as Error).message}). Fix or move it away; the bot will not overwrite it.`);
      }
      const parsed = storeFileSchema.safeParse(db.data);
      if (!parsed.success) {
        const issues = parsed.error.issues.slice(0, 5).map((i) => `${formatPath(i.path)}: ${i.message}`);
        throw new StoreError(
          'STORE_CORRUPT',
          `${file} does not look like a vmbot store (${issues.join('; ')}). Fix or move it away; the bot will not overwrite it.`,
        );
      }
      db.data = parsed.data;
      const journal = join(dataDir, JOURNAL_FILE);
      replayJournal(journal, db.data);
      const store = new LowdbStore(dataDir, db, lockPath, options.readOnly ?? false);
      store.#archiveAfterMs = options.archiveAfterMs ?? 30 * 86_400_000;
      if (!options.readOnly) {
        archiveOld(join(dataDir, ARCHIVE_FILE), db.data, store.#archiveAfterMs);
        await db.write();
        chmodSync(file, 0o600); // a file an older version wrote with the umask's mode
        store.#journalFd = openSync(journal, 'a', 0o600);
        ftruncateSync(store.#journalFd, 0); // everything in it is now in the file
      }
      return store;
    } catch (err) {
      if (lockPath) releaseLock(lockPath);
      throw err;
    }
  }

  /** Apply a change in memory and rewrite the file in the background (coalesced by lowdb). */
  #apply(change: (data: StoreFile) => void): void {
    if (this.#readOnly) throw new Error('this store was opened read-only');
    if (this.#writeError) throw this.#writeError;
    change(this.#db.data);
    this.#scheduleWrite();
  }

  /**
   * One rewrite at a time, at most every REWRITE_INTERVAL_MS: the journal already made each
   * change durable, so the file only needs to catch up, and rewriting it for every change would
   * cost CPU in proportion to the number of runs.
   */
  #scheduleWrite(): void {
    this.#dirty = true;
    if (!this.#writing) this.#writing = this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    while (this.#dirty && !this.#writeError) {
      this.#dirty = false;
      const coveredSeq = this.#journalSeq;
      try {
        await this.#db.write();
        this.#maybeCompact(coveredSeq);
      } catch (err) {
        this.#writeError = err as Error;
      }
      if (this.#dirty && !this.#flushing) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, REWRITE_INTERVAL_MS);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    }
    this.#writing = undefined;
  }

  #dirty = false;
  #flushing = false;
  #writing: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  /** The journal may be emptied once a completed write holds every change journaled so far. */
  #maybeCompact(coveredSeq: number): void {
    if (this.#journalFd === undefined || this.#journalBytes < JOURNAL_COMPACT_BYTES || coveredSeq !== this.#journalSeq) return;
    ftruncateSync(this.#journalFd, 0);
    this.#journalBytes = 0;
  }

  /** Durable against a process crash when this returns: the record is in the journal. */
  #journal(table: 'runs' | 'requests' | 'counters', record: unknown): void {
    if (this.#journalFd === undefined) throw new Error('this store was opened read-only');
    const line = `${JSON.stringify({ table, record })}\n`;
    writeSync(this.#journalFd, line);
    this.#journalBytes += Buffer.byteLength(line);
    this.#journalSeq++;
  }

  /** Resolves when everything changed so far is in the lowdb file itself. */
  async flush(): Promise<void> {
    this.#flushing = true;
    try {
      this.#wake?.();
      while (this.#writing) await this.#writing;
    } finally {
      this.#flushing = false;
    }
    if (this.#writeError) throw this.#writeError;
  }

  get description(): string {
    return this.file;
  }

  /** The last number a sequence handed out (0 if none), without taking one. */
  counter(sequence: string): number {
    return this.#db.data.counters[sequence] ?? 0;
  }

  /** Next number of a named sequence (REQ-n, run ids), saved with the next write. */
  async nextNumber(sequence: string): Promise<number> {
    const n = (this.#db.data.counters[sequence] ?? 0) + 1;
    this.#journal('counters', { name: sequence, value: n });
    this.#apply((data) => (data.counters[sequence] = n));
    return n;
  }

  // ---- runs -----------------------------------------------------------------------------------

  getRun(id: string): RunRecord | undefined {
    const run = this.#db.data.runs.find((r) => r.id === id);
    return run ? structuredClone(run) : undefined;
  }

  /** Copies of the runs that pass `filter` (filtered first, so only those are copied). */
  listRuns(filter?: (r: Readonly<RunRecord>) => boolean): RunRecord[] {
    return filter ? this.#db.data.runs.filter(filter).map((r) => structuredClone(r)) : structuredClone(this.#db.data.runs);
  }

  /** Adds runs in one write (a bulk apply creates all its runs at once). */
  async insertRuns(runs: RunRecord[]): Promise<void> {
    for (const run of runs) if (this.#db.data.runs.some((r) => r.id === run.id)) throw new StoreError('STORE_CONFLICT', `run ${run.id} already exists`);
    for (const run of runs) this.#journal('runs', run);
    this.#apply((data) => data.runs.push(...runs.map((r) => structuredClone(r))));
  }

  /**
   * Compare-and-set on one record: `mutate` runs on a copy only if the stored record still has
   * `version` and (when given) one of `states`. Journaled (durable) unless `durable: false`, for
   * a change that may be lost in a crash because the next durable change carries it, or because
   * what it records can be found again (a step left in_flight is looked up).
   */
  #update<T extends RunRecord | RequestRecord>(
    table: 'runs' | 'requests',
    id: string,
    expect: { version?: number; states?: readonly string[] },
    mutate: (record: T) => void,
    durable: boolean,
  ): T {
    const rows = this.#db.data[table] as T[];
    const index = rows.findIndex((r) => r.id === id);
    const current = rows[index];
    const noun = table === 'runs' ? 'run' : 'request';
    if (!current) throw new StoreError('STORE_NOT_FOUND', `no ${noun} ${id}`);
    if (expect.version !== undefined && current.version !== expect.version) {
      throw new StoreError('STORE_CONFLICT', `${noun} ${id} changed meanwhile (version ${current.version}, expected ${expect.version})`);
    }
    if (expect.states && !expect.states.includes(current.state)) {
      throw new StoreError('STORE_CONFLICT', `${noun} ${id} is ${current.state}, not ${expect.states.join(' or ')}`);
    }
    const draft = structuredClone(current);
    mutate(draft);
    draft.version = current.version + 1;
    draft.updatedAt = new Date().toISOString();
    if (durable) this.#journal(table, draft);
    // The stored record is replaced, never changed in place, so the caller may keep `draft`.
    this.#apply((data) => ((data[table] as T[])[index] = draft));
    return draft;
  }

  async updateRun(id: string, expect: StoreExpect<RunState>, mutate: (run: RunRecord) => void, options: { durable?: boolean } = {}): Promise<RunRecord> {
    return this.#update<RunRecord>('runs', id, expect, mutate, options.durable ?? true);
  }

  // ---- requests -------------------------------------------------------------------------------

  getRequest(id: string): RequestRecord | undefined {
    const request = this.#db.data.requests.find((r) => r.id === id);
    return request ? structuredClone(request) : undefined;
  }

  listRequests(filter: (r: Readonly<RequestRecord>) => boolean = () => true): RequestRecord[] {
    return this.#db.data.requests.filter(filter).map((r) => structuredClone(r));
  }

  async insertRequest(request: RequestRecord): Promise<void> {
    if (this.#db.data.requests.some((r) => r.id === request.id)) throw new StoreError('STORE_CONFLICT', `request ${request.id} already exists`);
    this.#journal('requests', request);
    this.#apply((data) => data.requests.push(structuredClone(request)));
  }

  async updateRequest(id: string, expect: StoreExpect<RequestState>, mutate: (request: RequestRecord) => void): Promise<RequestRecord> {
    return this.#update<RequestRecord>('requests', id, expect, mutate, true);
  }

  // One process per file (the lock): claims only keep this process from running a run twice.
  readonly #claims = new Map<string, string>();

  async claimRun(id: string, owner: string): Promise<boolean> {
    const holder = this.#claims.get(id);
    if (holder !== undefined && holder !== owner) return false;
    this.#claims.set(id, owner);
    return true;
  }

  async renewClaims(): Promise<void> {}

  async catchUp(): Promise<void> {}

  async releaseRun(id: string, owner: string): Promise<void> {
    if (this.#claims.get(id) === owner) this.#claims.delete(id);
  }

  async orphanedRuns(): Promise<RunRecord[]> {
    return this.listRuns((r) => UNFINISHED_RUNS.has(r.state) && !this.#claims.has(r.id));
  }

  async leads(): Promise<boolean> {
    return !this.#readOnly;
  }

  /**
   * Move old finished records to the archive now (also done at open), so a bot that stays up
   * keeps its file small. Returns how many records moved.
   */
  async archiveOld(): Promise<number> {
    if (this.#readOnly) return 0;
    const before = this.#db.data.runs.length + this.#db.data.requests.length;
    // The archive line is written before the records leave the file (a crash between archives
    // them twice; readers keep the newest).
    const appended = archiveOld(join(this.dataDir, ARCHIVE_FILE), this.#db.data, this.#archiveAfterMs);
    if (appended) this.#archive.appended(appended.offset, appended.lines);
    const moved = before - (this.#db.data.runs.length + this.#db.data.requests.length);
    if (moved) {
      this.#scheduleWrite();
      await this.flush();
    }
    return moved;
  }

  findArchivedRequest(id: string): Promise<RequestRecord | undefined> {
    return this.#archive.findRequest(id);
  }

  archivedRunsOf(requestId: string): Promise<RunRecord[]> {
    return this.#archive.runsOf(requestId);
  }

  readArchived(kind: 'runs'): Promise<RunRecord[]>;
  readArchived(kind: 'requests'): Promise<RequestRecord[]>;
  readArchived(kind: 'runs' | 'requests'): Promise<RunRecord[] | RequestRecord[]> {
    return kind === 'runs' ? readArchive(this.dataDir, 'runs') : readArchive(this.dataDir, 'requests');
  }

  /** Whether the store can take writes: open, and no write to disk has failed. */
  health(): { ok: true } | { ok: false; problem: string } {
    if (this.#closed) return { ok: false, problem: 'the store is closed' };
    if (this.#writeError) return { ok: false, problem: `writing ${this.file} failed: ${this.#writeError.message}` };
    return { ok: true };
  }

  async ping(): Promise<{ ok: true } | { ok: false; problem: string }> {
    return this.health();
  }

  /** Writes what is pending, empties the journal and releases the lock. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#journalFd !== undefined) {
      await this.flush().catch(() => undefined);
      if (!this.#writeError) ftruncateSync(this.#journalFd, 0);
      closeSync(this.#journalFd);
      this.#journalFd = undefined;
    }
    if (this.#lockPath) releaseLock(this.#lockPath);
  }
}

/** Runs someone still has to finish. */
const UNFINISHED_RUNS: ReadonlySet<string> = new Set(['pending', 'running', 'cleaning_up']);

/** Runs done with: their VM was deleted (or never made). A succeeded run's VM lives on, so the run stays, unless it is gone. */
const FINISHED_RUNS: ReadonlySet<string> = new Set(['cleaned_up', 'decommissioned']);
const DECIDED_REQUESTS: ReadonlySet<string> = new Set(['succeeded', 'rejected', 'cancelled', 'expired', 'cleaned_up']);

/**
 * Move old finished records to the archive (appended before they leave the main file, which is
 * written right after; a crash in between only archives them twice, and readers keep the newest).
 * A run goes with its request, and only when both are done with.
 */
function archiveOld(
  path: string,
  data: StoreFile,
  afterMs: number,
): { offset: number; lines: Array<{ table: string; record: RunRecord | RequestRecord }> } | undefined {
  const cutoff = Date.now() - afterMs;
  const old = (r: { updatedAt: string }) => Date.parse(r.updatedAt) <= cutoff;
  const requests = data.requests.filter((r) => DECIDED_REQUESTS.has(r.state) && old(r));
  const requestIds = new Set(requests.map((r) => r.id));
  const activeRequestIds = new Set(data.requests.filter((r) => !requestIds.has(r.id)).map((r) => r.id));
  const done = (r: RunRecord) => FINISHED_RUNS.has(r.state) || (r.state === 'succeeded' && r.goneAt !== undefined);
  const runs = data.runs.filter((r) => done(r) && old(r) && !(r.requestId && activeRequestIds.has(r.requestId)));
  if (!requests.length && !runs.length) return undefined;
  const lines = [...runs.map((record) => ({ table: 'runs', record })), ...requests.map((record) => ({ table: 'requests', record }))];
  const fd = openSync(path, 'a+', 0o600);
  let offset: number;
  try {
    offset = fstatSync(fd).size;
    if (offset > 0) {
      // A line torn by a crash mid-append must not swallow the first new one.
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, offset - 1);
      if (last[0] !== 0x0a) offset += writeSync(fd, '\n');
    }
    writeSync(fd, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  } finally {
    closeSync(fd);
  }
  const runIds = new Set(runs.map((r) => r.id));
  data.runs = data.runs.filter((r) => !runIds.has(r.id));
  data.requests = data.requests.filter((r) => !requestIds.has(r.id));
  return { offset, lines };
}

/** Archived records of one table, newest version of each, oldest first. */
export async function readArchive(dataDir: string, table: 'runs'): Promise<RunRecord[]>;
export async function readArchive(dataDir: string, table: 'requests'): Promise<RequestRecord[]>;
export async function readArchive(dataDir: string, table: 'runs' | 'requests'): Promise<Array<RunRecord | RequestRecord>> {
  const path = join(dataDir, ARCHIVE_FILE);
  if (!existsSync(path)) return [];
  const schema = table === 'runs' ? runRecordSchema : requestRecordSchema;
  const newest = new Map<string, RunRecord | RequestRecord>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { table?: string; record?: unknown };
      if (entry.table !== table) continue;
      const parsed = schema.safeParse(entry.record);
      if (!parsed.success) continue;
      const seen = newest.get(parsed.data.id);
      if (!seen || seen.version < parsed.data.version) newest.set(parsed.data.id, parsed.data);
    } catch {
      // a torn last line from a crash mid-append: skip it
    }
  }
  return [...newest.values()];
}

/**
 * Newer versions of records from the journal onto the loaded file. A torn last line (the process
 * died mid-write) is skipped; a record that fails validation is a corrupt store.
 */
function replayJournal(path: string, data: StoreFile): void {
  if (!existsSync(path)) return;
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let entry: { table?: unknown; record?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      if (i === lines.length - 1 || lines.slice(i + 1).every((l) => l.trim() === '')) return; // torn tail
      throw new StoreError('STORE_CORRUPT', `${path}:${i + 1} is not valid JSON; fix or move the journal away`);
    }
    if (entry.table === 'runs' || entry.table === 'requests') {
      const schema = entry.table === 'runs' ? runRecordSchema : requestRecordSchema;
      const parsed = schema.safeParse(entry.record);
      if (!parsed.success)
        throw new StoreError('STORE_CORRUPT', `${path}:${i + 1} is not a ${entry.table.slice(0, -1)} record (${parsed.error.issues[0]?.message})`);
      const rows = data[entry.table] as Array<RunRecord | RequestRecord>;
      const index = rows.findIndex((r) => r.id === parsed.data.id);
      if (index < 0) rows.push(parsed.data);
      else if (rows[index]!.version < parsed.data.version) rows[index] = parsed.data;
    } else if (entry.table === 'counters') {
      const { name, value } = entry.record as { name?: unknown; value?: unknown };
      if (typeof name !== 'string' || typeof value !== 'number') throw new StoreError('STORE_CORRUPT', `${path}:${i + 1} is not a counter record`);
      data.counters[name] = Math.max(data.counters[name] ?? 0, value);
    }
  });
}

/** One writer per file: a lock file holding the owner's pid, taken over only if that process is gone. */
function takeLock(path: string): string {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
      closeSync(fd);
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readLockOwner(path);
      if (owner && owner.host === hostname() && isAlive(owner.pid) && owner.pid !== process.pid) {
        throw new StoreError(
          'STORE_LOCKED',
          `another vmbot (pid ${owner.pid}) is using ${path.replace(/vmbot\.lock$/, '')}; stop it first or use a different DATA_DIR`,
        );
      }
      if (owner && owner.host !== hostname()) {
        throw new StoreError('STORE_LOCKED', `${path} is held by vmbot on host ${owner.host}; one writer per data directory`);
      }
      unlinkSync(path); // stale: its process is gone
    }
  }
  throw new StoreError('STORE_LOCKED', `could not take ${path}`);
}

function readLockOwner(path: string): { pid: number; host: string } | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown; host?: unknown };
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? { pid: parsed.pid, host: parsed.host } : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseLock(path: string): void {
  try {
    if (readLockOwner(path)?.pid === process.pid) unlinkSync(path);
  } catch {
    // already gone
  }
}
