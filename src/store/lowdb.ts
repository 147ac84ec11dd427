/**
 * The embedded store: lowdb under DATA_DIR, written by one process at a time (a lock file), changed
 * only by compare-and-set. A corrupt or hand-edited file stops start-up with a message naming the
 * file and what is wrong; it is never overwritten.
 *
 * The journal is the durable write: each change appends its record (a small synchronous O_APPEND
 * write) to `vmbot.journal.<N>.jsonl` before the update returns, so it is safe from a process crash
 * at a cost that does not depend on how much is stored. The snapshot, `vmbot.json`, is compacted
 * in the background once the journal outgrows a share of it (or has aged): new changes go to the
 * next journal while the snapshot is written a chunk at a time, then journals it covers are
 * deleted. At open the snapshot is read and the journals after it replayed; records carrying this
 * bot's own checksums are trusted, anything else is validated. Records live in memory in indexed
 * tables, so a lookup visits only what it returns.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { SnapshotFile } from './snapshot-file.js';
import { ArchiveIndex, ARCHIVE_INDEX_FILE } from './archive-index.js';
import { appendToArchive, ARCHIVE_FILE, oldFinished, readArchive } from './archive.js';
import { counterLine, journalFile, journalsIn, recordLine, removalLine, type Table } from './journal.js';
import { readSnapshot, replayJournal } from './lowdb-load.js';
import { AppendOnlyFile, nodeFileSystem, unwritable, type FileSystem } from './durable-file.js';
import { probeWritable } from './probe.js';
import { releaseLock, takeLock } from './lock-file.js';
import type { IndexedTable } from './indexed-table.js';
import { RecordTables } from './record-tables.js';
import { Mutex } from './mutex.js';
import { StoreError, type Store, type StoreExpect } from './store.js';
import type { RequestRecord, RequestState, RunRecord, RunState, StoreFile } from './records.js';

export { ARCHIVE_FILE, readArchive } from './archive.js';

export const STORE_FILE = 'vmbot.json';
/** Compact once the journal holds this much, or half the snapshot's size if more … */
const COMPACT_MIN_BYTES = 1 << 20;
/** … or once it has held anything this long (a restart then replays little). */
const COMPACT_AFTER_MS = 10 * 60_000;
/** After a compaction failed, the next is tried this much later. */
const COMPACT_RETRY_MS = 60_000;

export interface OpenStoreOptions {
  /** Read without taking the writer lock (for `vmbot runs` while the bot runs). Writes are refused. */
  readOnly?: boolean;
  /**
   * Finished runs and decided requests untouched for this long move to `archive.jsonl` (at open
   * and whenever `archiveOld` is called), so the working set stays small. Default 30 days.
   */
  archiveAfterMs?: number;
  /** The file calls appends make (tests fill the disk and watch the syncs through it). */
  fs?: FileSystem;
}

export class LowdbStore extends RecordTables implements Store {
  readonly file: string;
  readonly #db: Low<StoreFile>;
  readonly #snapshot: SnapshotFile;
  #counters: Record<string, number> = {};
  readonly #lockPath: string | undefined;
  readonly #readOnly: boolean;
  #generation = 0;
  #journal: AppendOnlyFile | undefined;
  #journalBytes = 0;
  readonly #fs: FileSystem;
  /** The last write that failed because the storage took no more (cleared by the next that works). */
  #writeError: StoreError | undefined;
  /** What opening found and mended (a torn last line cut off), for the log and the CLI. */
  readonly notes: string[] = [];
  #compaction: Promise<void> | undefined;
  #compactTimer: NodeJS.Timeout | undefined;
  #compactError: Error | undefined;
  #compactFailedAt: number | undefined;
  /** What is in memory is not all in the snapshot yet (journals replayed, or an older version's file). */
  #stale = false;
  #closed = false;
  #archiveAfterMs = 30 * 86_400_000;
  /** Where archived records are in archive.jsonl, for finding one without reading them all. */
  readonly #archive: ArchiveIndex;

  private constructor(
    readonly dataDir: string,
    lockPath: string | undefined,
    readOnly: boolean,
    fs: FileSystem,
  ) {
    super();
    this.#fs = fs;
    this.file = join(dataDir, STORE_FILE);
    this.#snapshot = new SnapshotFile(this.file);
    this.#db = new Low<StoreFile>(this.#snapshot, emptyStore());
    this.#archive = new ArchiveIndex(join(dataDir, ARCHIVE_FILE), join(dataDir, ARCHIVE_INDEX_FILE));
    this.#lockPath = lockPath;
    this.#readOnly = readOnly;
  }

  static async open(dataDir: string, options: OpenStoreOptions = {}): Promise<LowdbStore> {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const readOnly = options.readOnly ?? false;
    const lockPath = readOnly ? undefined : takeLock(dataDir);
    const store = new LowdbStore(dataDir, lockPath, readOnly, options.fs ?? nodeFileSystem);
    try {
      await store.#load();
      store.#archiveAfterMs = options.archiveAfterMs ?? store.#archiveAfterMs;
      if (!readOnly) {
        makePrivate(dataDir, 0o700); // a directory an older version (or someone) left open
        if (existsSync(store.file)) makePrivate(store.file, 0o600);
        store.#archive.load(true, store.notes);
        await store.#moveOldToArchive();
        // Replayed journals are folded into the snapshot soon, in the background.
        store.#stale = store.#journalBytes > 0 || !store.#snapshot.trusted;
        if (store.#stale) store.#scheduleCompaction(0);
      } else {
        store.#archive.load(false, store.notes);
      }
      return store;
    } catch (err) {
      await store.#journal?.close().catch(() => undefined);
      store.#archive.close();
      if (lockPath) releaseLock(lockPath);
      throw err;
    }
  }

  /**
   * The snapshot, then every journal after it, into memory; the writer then opens a new journal.
   * A reader (no lock) whose snapshot was replaced while it read — the bot compacted meanwhile, and
   * may have deleted a journal it needed — reads again.
   */
  async #load(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const before = snapshotIdentity(this.file);
      let raced = false;
      try {
        await this.#loadOnce();
      } catch (err) {
        // A journal deleted between listing and reading it.
        if (!this.#readOnly || attempt >= 5 || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        raced = true;
      }
      if (!this.#readOnly || (!raced && snapshotIdentity(this.file) === before) || attempt >= 5) return;
      this.runs.clear();
      this.requests.clear();
    }
  }

  async #loadOnce(): Promise<void> {
    const data = await readSnapshot(this.#db, this.#snapshot);
    for (const run of data.runs) this.runs.set(run);
    for (const request of data.requests) this.requests.set(request);
    this.#counters = { ...data.counters };
    this.#db.data = emptyStore(); // the tables hold the records now

    const journals = journalsIn(this.dataDir);
    const into = { runs: this.runs, requests: this.requests, counters: this.#counters, notes: this.#readOnly ? undefined : this.notes };
    for (const { generation, name } of journals) {
      if (generation < data.journal) continue; // already in the snapshot (its deletion was cut short)
      replayJournal(join(this.dataDir, name), into);
    }
    if (this.#readOnly) return;
    for (const { generation, name } of journals) if (generation < data.journal) unlinkSync(join(this.dataDir, name));
    // A snapshot a crash cut short: never renamed into place, so nothing refers to it.
    for (const name of readdirSync(this.dataDir)) if (name.startsWith(`${STORE_FILE}.`) && name.endsWith('.tmp')) unlinkSync(join(this.dataDir, name));
    this.#generation = Math.max(data.journal, ...journals.map((j) => j.generation + 1));
    this.#journal = AppendOnlyFile.open(join(this.dataDir, journalFile(this.#generation)), this.#fs);
    this.#journalBytes = journalsIn(this.dataDir)
      .filter((j) => j.generation >= data.journal)
      .reduce((sum, j) => sum + j.bytes, 0);
  }

  #table(table: Table): IndexedTable<RunRecord | RequestRecord, string> {
    return (table === 'runs' ? this.runs : this.requests) as IndexedTable<RunRecord | RequestRecord, string>;
  }

  #put(table: Table, record: RunRecord | RequestRecord): void {
    this.#table(table).set(record);
  }

  #writable(): AppendOnlyFile {
    if (this.#readOnly || this.#journal === undefined)
      throw new StoreError('STORE_UNAVAILABLE', this.#closed ? 'the store is closed' : 'this store was opened read-only');
    return this.#journal;
  }

  /**
   * In the journal when this returns (safe from a process crash), whole or not at all; `#durable`
   * then waits for it to be on disk (safe from a power cut).
   */
  #append(line: string): void {
    const journal = this.#writable();
    try {
      journal.append(line);
      this.#writeError = undefined;
    } catch (err) {
      this.#writeError = unwritable(journal.path, err);
      throw this.#writeError;
    }
    this.#journalBytes += Buffer.byteLength(line);
    // After a failed compaction (a full disk), the next try waits a while rather than follow every change.
    const backingOff = this.#compactFailedAt !== undefined && Date.now() - this.#compactFailedAt < COMPACT_RETRY_MS;
    if (this.#journalBytes >= Math.max(COMPACT_MIN_BYTES, this.#snapshot.bytes / 2) && !backingOff) this.#scheduleCompaction(0);
    else if (!this.#compactTimer) this.#scheduleCompaction(backingOff ? COMPACT_RETRY_MS : COMPACT_AFTER_MS);
  }

  /** Everything journaled so far is on disk (one fdatasync shared by every change waiting). */
  async #durable(): Promise<void> {
    const journal = this.#writable();
    try {
      await journal.sync();
    } catch (err) {
      this.#writeError = unwritable(journal.path, err);
      throw this.#writeError;
    }
  }

  /** A record's new version, journaled with a checksum (so replay need not validate it). */
  #journalRecord(table: Table, record: RunRecord | RequestRecord): void {
    this.#append(recordLine(table, record));
  }

  #scheduleCompaction(inMs: number): void {
    if (this.#closed) return;
    if (this.#compactTimer) {
      if (inMs > 0) return;
      clearTimeout(this.#compactTimer);
    }
    this.#compactTimer = setTimeout(() => {
      this.#compactTimer = undefined;
      // Kept in #compactError, shown by health(); nothing to do if a compaction meanwhile took it all.
      // A failed one is tried again later by itself: nothing else may write to schedule it.
      if (this.#journalBytes || this.#stale) void this.compact().catch(() => this.#scheduleCompaction(COMPACT_RETRY_MS));
    }, inMs);
    this.#compactTimer.unref();
  }

  /**
   * Write the snapshot of everything so far and delete the journals it covers. New changes go to
   * a new journal meanwhile; the snapshot is written a chunk at a time, never holding the event
   * loop for long. A crash at any point leaves a snapshot and journals that replay to the same state.
   */
  compact(): Promise<void> {
    if (this.#compaction) return this.#compaction.then(() => (this.#journalBytes ? this.compact() : undefined));
    this.#writable();
    const covered = this.#generation + 1;
    // Switch journals first: what changes from here on is in the new one, whatever the snapshot holds.
    const previous = this.#journal!;
    try {
      this.#journal = AppendOnlyFile.open(join(this.dataDir, journalFile(covered)), this.#fs);
    } catch (err) {
      this.#compactError = unwritable(this.dataDir, err);
      this.#compactFailedAt = Date.now();
      return Promise.reject(this.#compactError);
    }
    const closedPrevious = previous.close(); // after the syncs its writers wait for
    this.#generation = covered;
    this.#journalBytes = 0;
    this.#stale = false;
    // Records are replaced, never changed in place: these references are a consistent snapshot.
    const snapshot: StoreFile = {
      version: 1,
      journal: covered,
      counters: { ...this.#counters },
      runs: [...this.runs.values()],
      requests: [...this.requests.values()],
    };
    this.#compaction = (async () => {
      try {
        await closedPrevious;
        this.#db.data = snapshot;
        await this.#db.write();
        this.#compactFailedAt = undefined;
        for (const { generation, name } of journalsIn(this.dataDir)) if (generation < covered) unlinkSync(join(this.dataDir, name));
        this.#compactError = undefined;
      } catch (err) {
        this.#compactError = err as Error;
        this.#compactFailedAt = Date.now();
        this.#stale = true;
        throw err;
      } finally {
        this.#db.data = emptyStore(); // the tables hold the records
        this.#compaction = undefined;
      }
    })();
    return this.#compaction;
  }

  /** Resolves when everything changed so far is in the snapshot itself (the journal emptied). */
  async flush(): Promise<void> {
    if (this.#readOnly || this.#journal === undefined) return;
    if (this.#journalBytes || this.#stale || this.#compaction || !existsSync(this.file)) await this.compact();
  }

  get description(): string {
    return this.file;
  }

  /** The last number a sequence handed out (0 if none), without taking one. */
  counter(sequence: string): number {
    return this.#counters[sequence] ?? 0;
  }

  /** Next number of a named sequence (REQ-n, run ids), journaled before it is handed out. */
  async nextNumber(sequence: string): Promise<number> {
    const n = (this.#counters[sequence] ?? 0) + 1;
    this.#append(counterLine(sequence, n));
    this.#counters[sequence] = n;
    await this.#durable();
    return n;
  }

  // ---- runs -----------------------------------------------------------------------------------

  /** Adds runs in one write (a bulk apply creates all its runs at once). */
  async insertRuns(runs: RunRecord[]): Promise<void> {
    this.#writable();
    for (const run of runs) if (this.runs.has(run.id)) throw new StoreError('STORE_CONFLICT', `run ${run.id} already exists`);
    const stored = runs.map((run) => structuredClone(run));
    this.#append(stored.map((run) => recordLine('runs', run)).join('')); // all of them or none
    for (const run of stored) this.runs.set(run);
    await this.#durable();
  }

  /**
   * Compare-and-set on one record: `mutate` runs on a copy only if the stored record still has
   * `version` and (when given) one of `states`. Journaled (durable) unless `durable: false`, for
   * a change that may be lost in a crash because the next durable change carries it, or because
   * what it records can be found again (a step left in_flight is looked up).
   */
  #update<T extends RunRecord | RequestRecord>(
    table: Table,
    id: string,
    expect: { version?: number; states?: readonly string[] },
    mutate: (record: T) => void,
    durable: boolean,
  ): T {
    this.#writable();
    const current = this.#table(table).get(id) as T | undefined;
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
    if (durable) this.#journalRecord(table, draft);
    // Stored as a copy: the caller may keep (and change) `draft`.
    this.#put(table, structuredClone(draft));
    return draft;
  }

  async updateRun(id: string, expect: StoreExpect<RunState>, mutate: (run: RunRecord) => void, options: { durable?: boolean } = {}): Promise<RunRecord> {
    const durable = options.durable ?? true;
    const run = this.#update<RunRecord>('runs', id, expect, mutate, durable);
    if (durable) await this.#durable();
    return run;
  }

  // ---- requests -------------------------------------------------------------------------------

  async insertRequest(request: RequestRecord): Promise<void> {
    this.#writable();
    if (this.requests.has(request.id)) throw new StoreError('STORE_CONFLICT', `request ${request.id} already exists`);
    const stored = structuredClone(request);
    this.#journalRecord('requests', stored);
    this.requests.set(stored);
    await this.#durable();
  }

  async updateRequest(id: string, expect: StoreExpect<RequestState>, mutate: (request: RequestRecord) => void): Promise<RequestRecord> {
    const request = this.#update<RequestRecord>('requests', id, expect, mutate, true);
    await this.#durable();
    return request;
  }

  // One process per file (the writer lock): admissions need only be serialized within it.
  readonly #admissions = new Mutex();

  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.#admissions.run(work);
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
    return [...UNFINISHED_RUNS].flatMap((state) => this.runsBy('state', state, (r) => !this.#claims.has(r.id)));
  }

  async leads(): Promise<boolean> {
    return !this.#readOnly;
  }

  /** Move old finished records to the archive now (also done at open); how many moved. */
  async archiveOld(): Promise<number> {
    if (this.#readOnly) return 0;
    return this.#moveOldToArchive();
  }

  /**
   * The archive lines are appended (and indexed) before the records leave the tables, and their
   * leaving is journaled: a crash in between archives them twice at worst, and readers keep the
   * newest.
   */
  async #moveOldToArchive(): Promise<number> {
    const old = oldFinished(this.runs, this.requests, Date.now() - this.#archiveAfterMs);
    if (!old.length) return 0;
    const path = join(this.dataDir, ARCHIVE_FILE);
    let spans;
    try {
      spans = await appendToArchive(path, old, this.#fs);
    } catch (err) {
      this.#writeError = unwritable(path, err);
      throw this.#writeError;
    }
    this.#archive.appended(old, spans);
    this.#append(old.map(({ table, record }) => removalLine(table, record.id)).join(''));
    for (const { table, record } of old) this.#table(table).delete(record.id);
    await this.#durable();
    return old.length;
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

  /** Whether the store can take writes, from what is known: open, its last write worked, its last compaction too. */
  health(): { ok: true } | { ok: false; problem: string } {
    if (this.#closed) return { ok: false, problem: 'the store is closed' };
    const broken = this.#journal?.broken;
    if (broken) return { ok: false, problem: `${broken.message}; restart the bot once the disk is healthy` };
    if (this.#writeError) return { ok: false, problem: this.#writeError.message };
    if (this.#compactError) return { ok: false, problem: `writing ${this.file} failed: ${this.#compactError.message}` };
    return { ok: true };
  }

  /** Asks the disk: a small write synced and removed. A store that could not write is healthy again once this works. */
  async ping(): Promise<{ ok: true } | { ok: false; problem: string }> {
    if (this.#closed || this.#readOnly) return this.health();
    const problem = await probeWritable(this.dataDir, this.#fs);
    if (problem) return { ok: false, problem };
    this.#writeError = undefined;
    // The disk takes writes again: a snapshot that could not be written is written now.
    if (this.#compactError) await this.compact().catch(() => undefined);
    return this.health();
  }

  /** Folds the journal into the snapshot and releases the lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#journal !== undefined) await this.flush().catch(() => undefined);
    this.#closed = true;
    if (this.#compactTimer) clearTimeout(this.#compactTimer);
    await this.#journal?.close();
    this.#journal = undefined;
    this.#archive.close();
    if (this.#lockPath) releaseLock(this.#lockPath);
  }
}

const emptyStore = (): StoreFile => ({ version: 1, journal: 0, runs: [], requests: [], counters: {} });

/** Which file the snapshot is now (it is replaced by rename), or '' if there is none. */
function snapshotIdentity(path: string): string {
  try {
    const { ino, mtimeMs, size } = statSync(path);
    return `${ino}:${mtimeMs}:${size}`;
  } catch {
    return '';
  }
}

function makePrivate(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch {
    // not ours to change (a directory owned by someone else): its files are still created 0600
  }
}

/** Runs someone still has to finish. */
const UNFINISHED_RUNS: ReadonlySet<string> = new Set(['pending', 'running', 'cleaning_up']);
