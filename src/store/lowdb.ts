/**
 * The embedded store: lowdb under DATA_DIR, written by one process at a time (a lock file), changed
 * only by compare-and-set. A corrupt or hand-edited file stops start-up with a message naming the
 * file and what is wrong; it is never overwritten.
 *
 * Each change is journaled before the update returns, and the snapshot compacted in the background
 * (`journal-writer.ts`). At open the snapshot is read and the journals after it replayed
 * (`lowdb-load.ts`); records carrying this bot's own checksums are trusted, anything else is
 * validated. Records live in memory in indexed tables, so a lookup visits only what it returns.
 * Old finished records move to `archive.jsonl`, found again one at a time through its index.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { SnapshotFile } from './snapshot-file.js';
import { ArchiveIndex, ARCHIVE_INDEX_FILE } from './archive-index.js';
import { appendToArchive, ARCHIVE_FILE, oldFinished, readArchive } from './archive.js';
import { counterLine, journalsIn, recordLine, removalLine, type StoredRecord, type Table } from './journal.js';
import { readSnapshot, replayJournal } from './lowdb-load.js';
import { nodeFileSystem, type FileSystem } from './durable-file.js';
import { emptyStore, JournalWriter } from './journal-writer.js';
import { probeWritable } from './probe.js';
import { releaseLock, takeLock } from './lock-file.js';
import type { IndexedTable } from './indexed-table.js';
import { RecordTables } from './record-tables.js';
import { nextVersion } from './compare-and-set.js';
import { SingleProcess } from './single-process.js';
import { missingVmRecords } from './vms-from-runs.js';
import { StoreError, type Store, type StoreExpect } from './store.js';
import type { RequestRecord, RequestState, RunRecord, RunState, StoreFile, VmRecord, VmState } from './records.js';

export { ARCHIVE_FILE, readArchive } from './archive.js';

export const STORE_FILE = 'vmbot.json';

export interface OpenStoreOptions {
  /** Read without taking the writer lock (for `vmbot runs` while the bot runs). Writes are refused. */
  readOnly?: boolean;
  /**
   * Finished runs, decided requests and ended VM records untouched for this long move to
   * `archive.jsonl` (at open and whenever `archiveOld` is called), so the working set stays small.
   * Default 30 days.
   */
  archiveAfterMs?: number;
  /** The file calls appends make (tests fill the disk and watch the syncs through it). */
  fs?: FileSystem;
}

export class LowdbStore extends RecordTables implements Store {
  readonly file: string;
  readonly #db: Low<StoreFile>;
  readonly #snapshot: SnapshotFile;
  readonly #writer: JournalWriter;
  #counters: Record<string, number> = {};
  readonly #lockPath: string | undefined;
  readonly #readOnly: boolean;
  readonly #fs: FileSystem;
  /** What opening found and mended (a torn last line cut off), for the log and the CLI. */
  readonly notes: string[] = [];
  #archiveAfterMs = 30 * 86_400_000;
  /** Where archived records are in archive.jsonl, for finding one without reading them all. */
  readonly #archive: ArchiveIndex;
  /** One process per file (the writer lock): claims, admissions and leadership hold within it. */
  readonly #process: SingleProcess;

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
    this.#writer = new JournalWriter(dataDir, this.#db, this.#snapshot, fs, () => ({
      counters: { ...this.#counters },
      runs: [...this.runs.values()],
      requests: [...this.requests.values()],
      vms: [...this.vms.values()],
    }));
    this.#archive = new ArchiveIndex(join(dataDir, ARCHIVE_FILE), join(dataDir, ARCHIVE_INDEX_FILE));
    this.#lockPath = lockPath;
    this.#readOnly = readOnly;
    this.#process = new SingleProcess(this, !readOnly);
  }

  static async open(dataDir: string, options: OpenStoreOptions = {}): Promise<LowdbStore> {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const readOnly = options.readOnly ?? false;
    const lockPath = readOnly ? undefined : takeLock(dataDir);
    const store = new LowdbStore(dataDir, lockPath, readOnly, options.fs ?? nodeFileSystem);
    try {
      await store.#load();
      await store.#recordVmsOfOlderRuns();
      store.#archiveAfterMs = options.archiveAfterMs ?? store.#archiveAfterMs;
      if (!readOnly) {
        makePrivate(dataDir, 0o700); // a directory an older version (or someone) left open
        if (existsSync(store.file)) makePrivate(store.file, 0o600);
        store.#archive.load(true, store.notes);
        await store.#moveOldToArchive();
        store.#writer.foldInSoon();
      } else {
        store.#archive.load(false, store.notes);
      }
      return store;
    } catch (err) {
      await store.#writer.abandon().catch(() => undefined);
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
      this.vms.clear();
    }
  }

  async #loadOnce(): Promise<void> {
    const data = await readSnapshot(this.#db, this.#snapshot);
    for (const run of data.runs) this.runs.set(run);
    for (const request of data.requests) this.requests.set(request);
    for (const vm of data.vms) this.vms.set(vm);
    this.#counters = { ...data.counters };
    this.#db.data = emptyStore(); // the tables hold the records now

    const journals = journalsIn(this.dataDir);
    const into = { runs: this.runs, requests: this.requests, vms: this.vms, counters: this.#counters, notes: this.#readOnly ? undefined : this.notes };
    for (const { generation, name } of journals) {
      if (generation < data.journal) continue; // already in the snapshot (its deletion was cut short)
      replayJournal(join(this.dataDir, name), into);
    }
    if (this.#readOnly) return;
    for (const { generation, name } of journals) if (generation < data.journal) unlinkSync(join(this.dataDir, name));
    // A snapshot a crash cut short: never renamed into place, so nothing refers to it.
    for (const name of readdirSync(this.dataDir)) if (name.startsWith(`${STORE_FILE}.`) && name.endsWith('.tmp')) unlinkSync(join(this.dataDir, name));
    const replayed = journalsIn(this.dataDir)
      .filter((j) => j.generation >= data.journal)
      .reduce((sum, j) => sum + j.bytes, 0);
    this.#writer.start(Math.max(data.journal, ...journals.map((j) => j.generation + 1)), replayed);
  }

  #table(table: Table): IndexedTable<StoredRecord, string> {
    return this[table] as IndexedTable<StoredRecord, string>;
  }

  /**
   * A store from before VMs had records of their own: each VM it knows only as a run gets one, once
   * (journaled; a read-only copy makes them in memory, so what it lists is the same).
   */
  async #recordVmsOfOlderRuns(): Promise<void> {
    const missing = missingVmRecords(this.runs.values(), (id) => this.vms.has(id), new Date());
    if (!missing.length) return;
    // All in one journal append and one sync: a store with thousands of VMs starts as quickly.
    if (!this.#readOnly) this.#writer.append(missing.map((vm) => recordLine('vms', vm)).join(''));
    for (const vm of missing) this.vms.set(vm);
    if (!this.#readOnly) await this.#writer.durable();
    this.notes.push(`${missing.length} VM record(s) made from the runs that made them (a store from before VMs had records)`);
  }

  /** Write the snapshot of everything so far and delete the journals it covers (see `JournalWriter.compact`). */
  compact(): Promise<void> {
    return this.#writer.compact();
  }

  /** Resolves when everything changed so far is in the snapshot itself (the journal emptied). */
  flush(): Promise<void> {
    return this.#writer.flush();
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
    this.#writer.append(counterLine(sequence, n));
    this.#counters[sequence] = n;
    await this.#writer.durable();
    return n;
  }

  // ---- writes ---------------------------------------------------------------------------------

  /** Adds runs in one write (a bulk apply creates all its runs at once). */
  async insertRuns(runs: RunRecord[]): Promise<void> {
    this.#writer.writable();
    for (const run of runs) if (this.runs.has(run.id)) throw new StoreError('STORE_CONFLICT', `run ${run.id} already exists`);
    const stored = runs.map((run) => structuredClone(run));
    this.#writer.append(stored.map((run) => recordLine('runs', run)).join('')); // all of them or none
    for (const run of stored) this.runs.set(run);
    await this.#writer.durable();
  }

  /**
   * Compare-and-set on one record (`compare-and-set.ts`). Journaled (durable) unless `durable:
   * false`, for a change that may be lost in a crash because the next durable change carries it,
   * or because what it records can be found again (a step left in_flight is looked up).
   */
  #update<T extends StoredRecord>(table: Table, id: string, expect: StoreExpect<string>, mutate: (record: T) => void, durable: boolean): T {
    this.#writer.writable();
    const draft = nextVersion(table, id, this.#table(table).get(id) as T | undefined, expect, mutate);
    if (durable) this.#writer.append(recordLine(table, draft));
    // Stored as a copy: the caller may keep (and change) `draft`.
    this.#table(table).set(structuredClone(draft));
    return draft;
  }

  async updateRun(id: string, expect: StoreExpect<RunState>, mutate: (run: RunRecord) => void, options: { durable?: boolean } = {}): Promise<RunRecord> {
    const durable = options.durable ?? true;
    const run = this.#update<RunRecord>('runs', id, expect, mutate, durable);
    if (durable) await this.#writer.durable();
    return run;
  }

  insertRequest(request: RequestRecord): Promise<void> {
    return this.#insert('requests', request, 'request');
  }

  async updateRequest(id: string, expect: StoreExpect<RequestState>, mutate: (request: RequestRecord) => void): Promise<RequestRecord> {
    const request = this.#update<RequestRecord>('requests', id, expect, mutate, true);
    await this.#writer.durable();
    return request;
  }

  /** Adds a VM record (one per run: a second insert of its id is a conflict), durable when this resolves. */
  insertVm(vm: VmRecord): Promise<void> {
    return this.#insert('vms', vm, 'VM');
  }

  async updateVm(id: string, expect: StoreExpect<VmState>, mutate: (vm: VmRecord) => void): Promise<VmRecord> {
    const vm = this.#update<VmRecord>('vms', id, expect, mutate, true);
    await this.#writer.durable();
    return vm;
  }

  /** One new record: STORE_CONFLICT if its id is taken; journaled and on disk when this resolves. */
  async #insert(table: 'requests' | 'vms', record: RequestRecord | VmRecord, noun: string): Promise<void> {
    this.#writer.writable();
    if (this.#table(table).has(record.id)) throw new StoreError('STORE_CONFLICT', `${noun} ${record.id} already exists`);
    const stored = structuredClone(record);
    this.#writer.append(recordLine(table, stored));
    this.#table(table).set(stored);
    await this.#writer.durable();
  }

  // ---- coordination: one process (see single-process.ts) -------------------------------------

  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.#process.exclusive(work);
  }

  claimRun(id: string, owner: string): Promise<boolean> {
    return this.#process.claimRun(id, owner);
  }

  renewClaims(): Promise<void> {
    return this.#process.renewClaims();
  }

  catchUp(): Promise<void> {
    return this.#process.catchUp();
  }

  releaseRun(id: string, owner: string): Promise<void> {
    return this.#process.releaseRun(id, owner);
  }

  orphanedRuns(): Promise<RunRecord[]> {
    return this.#process.orphanedRuns();
  }

  leads(): Promise<boolean> {
    return this.#process.leads();
  }

  // ---- archive --------------------------------------------------------------------------------

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
    const old = oldFinished({ runs: this.runs, requests: this.requests, vms: this.vms }, Date.now() - this.#archiveAfterMs);
    if (!old.length) return 0;
    const path = join(this.dataDir, ARCHIVE_FILE);
    let spans;
    try {
      spans = await appendToArchive(path, old, this.#fs);
    } catch (err) {
      throw this.#writer.failed(path, err);
    }
    this.#archive.appended(old, spans);
    this.#writer.append(old.map(({ table, record }) => removalLine(table, record.id)).join(''));
    for (const { table, record } of old) this.#table(table).delete(record.id);
    await this.#writer.durable();
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
  readArchived(kind: 'vms'): Promise<VmRecord[]>;
  readArchived(kind: Table): Promise<StoredRecord[]> {
    return readArchive(this.dataDir, kind);
  }

  // ---- health ---------------------------------------------------------------------------------

  /** Whether the store can take writes, from what is known: open, its last write worked, its last compaction too. */
  health(): { ok: true } | { ok: false; problem: string } {
    if (this.#writer.closed) return { ok: false, problem: 'the store is closed' };
    const problem = this.#writer.problem();
    return problem === undefined ? { ok: true } : { ok: false, problem };
  }

  /** Asks the disk: a small write synced and removed. A store that could not write is healthy again once this works. */
  async ping(): Promise<{ ok: true } | { ok: false; problem: string }> {
    if (this.#writer.closed || this.#readOnly) return this.health();
    const problem = await probeWritable(this.dataDir, this.#fs);
    if (problem) return { ok: false, problem };
    // The disk takes writes again: a snapshot that could not be written is written now.
    await this.#writer.recovered();
    return this.health();
  }

  /** Folds the journal into the snapshot and releases the lock. */
  async close(): Promise<void> {
    if (this.#writer.closed) return;
    await this.#writer.close();
    this.#archive.close();
    if (this.#lockPath) releaseLock(this.#lockPath);
  }
}

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
