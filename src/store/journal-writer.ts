/**
 * The embedded store's writes: each change is appended to the current journal,
 * `vmbot.journal.<N>.jsonl` (a small synchronous O_APPEND write, safe from a process crash, at a
 * cost that does not depend on how much is stored), and synced before the change is reported
 * done. The snapshot, `vmbot.json`, is compacted in the background once the journal outgrows a
 * share of it (or has aged): new changes go to the next journal while the snapshot is written a
 * chunk at a time, then the journals it covers are deleted.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Low } from 'lowdb';
import { AppendOnlyFile, unwritable, type FileSystem } from './durable-file.js';
import { journalFile, journalsIn } from './journal.js';
import type { RequestRecord, RunRecord, StoreFile, VmRecord } from './records.js';
import type { SnapshotFile } from './snapshot-file.js';
import { StoreError } from './store.js';

/** Compact once the journal holds this much, or half the snapshot's size if more … */
const COMPACT_MIN_BYTES = 1 << 20;
/** … or once it has held anything this long (a restart then replays little). */
const COMPACT_AFTER_MS = 10 * 60_000;
/** After a compaction failed, the next is tried this much later. */
const COMPACT_RETRY_MS = 60_000;

/** What the snapshot is made of: every record and counter as they are now. */
export interface SnapshotContents {
  counters: Record<string, number>;
  runs: RunRecord[];
  requests: RequestRecord[];
  vms: VmRecord[];
}

export const emptyStore = (): StoreFile => ({ version: 1, journal: 0, runs: [], requests: [], vms: [], counters: {} });

export class JournalWriter {
  readonly #dataDir: string;
  readonly #db: Low<StoreFile>;
  readonly #snapshot: SnapshotFile;
  readonly #fs: FileSystem;
  readonly #contents: () => SnapshotContents;
  #generation = 0;
  /** Open while the store takes writes: never for a read-only store, no longer once closed. */
  #journal: AppendOnlyFile | undefined;
  #journalBytes = 0;
  /** The last write that failed because the storage took no more (cleared by the next that works). */
  #writeError: StoreError | undefined;
  #compaction: Promise<void> | undefined;
  #compactTimer: NodeJS.Timeout | undefined;
  #compactError: Error | undefined;
  #compactFailedAt: number | undefined;
  /** What is in memory is not all in the snapshot yet (journals replayed, or an older version's file). */
  #stale = false;
  #closed = false;

  constructor(dataDir: string, db: Low<StoreFile>, snapshot: SnapshotFile, fs: FileSystem, contents: () => SnapshotContents) {
    this.#dataDir = dataDir;
    this.#db = db;
    this.#snapshot = snapshot;
    this.#fs = fs;
    this.#contents = contents;
  }

  /** Take writes from here on, into journal `generation`; `bytes` are journaled already and not in the snapshot. */
  start(generation: number, bytes: number): void {
    this.#generation = generation;
    this.#journal = AppendOnlyFile.open(join(this.#dataDir, journalFile(generation)), this.#fs);
    this.#journalBytes = bytes;
  }

  /** Fold what opening replayed (or an older version's file) into the snapshot soon, in the background. */
  foldInSoon(): void {
    this.#stale = this.#journalBytes > 0 || !this.#snapshot.trusted;
    if (this.#stale) this.#schedule(0);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The open journal; STORE_UNAVAILABLE when the store takes no writes (read-only, or closed). */
  writable(): AppendOnlyFile {
    if (this.#journal === undefined) throw new StoreError('STORE_UNAVAILABLE', this.#closed ? 'the store is closed' : 'this store was opened read-only');
    return this.#journal;
  }

  /**
   * In the journal when this returns (safe from a process crash), whole or not at all; `durable`
   * then waits for it to be on disk (safe from a power cut).
   */
  append(line: string): void {
    const journal = this.writable();
    try {
      journal.append(line);
      this.#writeError = undefined;
    } catch (err) {
      throw this.failed(journal.path, err);
    }
    this.#journalBytes += Buffer.byteLength(line);
    // After a failed compaction (a full disk), the next try waits a while rather than follow every change.
    const backingOff = this.#compactFailedAt !== undefined && Date.now() - this.#compactFailedAt < COMPACT_RETRY_MS;
    if (this.#journalBytes >= Math.max(COMPACT_MIN_BYTES, this.#snapshot.bytes / 2) && !backingOff) this.#schedule(0);
    else if (!this.#compactTimer) this.#schedule(backingOff ? COMPACT_RETRY_MS : COMPACT_AFTER_MS);
  }

  /** Everything journaled so far is on disk (one fdatasync shared by every change waiting). */
  async durable(): Promise<void> {
    const journal = this.writable();
    try {
      await journal.sync();
    } catch (err) {
      throw this.failed(journal.path, err);
    }
  }

  /** A write to `path` the storage refused: remembered for `problem` until a write works. */
  failed(path: string, err: unknown): StoreError {
    this.#writeError = unwritable(path, err);
    return this.#writeError;
  }

  #schedule(inMs: number): void {
    if (this.#closed) return;
    if (this.#compactTimer) {
      if (inMs > 0) return;
      clearTimeout(this.#compactTimer);
    }
    this.#compactTimer = setTimeout(() => {
      this.#compactTimer = undefined;
      // Kept in #compactError, shown by problem(); nothing to do if a compaction meanwhile took it all.
      // A failed one is tried again later by itself: nothing else may write to schedule it.
      if (this.#journalBytes || this.#stale) void this.compact().catch(() => this.#schedule(COMPACT_RETRY_MS));
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
    const previous = this.writable();
    const covered = this.#generation + 1;
    // Switch journals first: what changes from here on is in the new one, whatever the snapshot holds.
    try {
      this.#journal = AppendOnlyFile.open(join(this.#dataDir, journalFile(covered)), this.#fs);
    } catch (err) {
      this.#compactError = unwritable(this.#dataDir, err);
      this.#compactFailedAt = Date.now();
      return Promise.reject(this.#compactError);
    }
    const closedPrevious = previous.close(); // after the syncs its writers wait for
    this.#generation = covered;
    this.#journalBytes = 0;
    this.#stale = false;
    // Records are replaced, never changed in place: these references are a consistent snapshot.
    const snapshot: StoreFile = { version: 1, journal: covered, ...this.#contents() };
    this.#compaction = (async () => {
      try {
        await closedPrevious;
        this.#db.data = snapshot;
        await this.#db.write();
        this.#compactFailedAt = undefined;
        for (const { generation, name } of journalsIn(this.#dataDir)) if (generation < covered) unlinkSync(join(this.#dataDir, name));
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
    if (this.#journal === undefined) return;
    if (this.#journalBytes || this.#stale || this.#compaction || !existsSync(this.#snapshot.path)) await this.compact();
  }

  /** Why writes may not work now, from what is known (no I/O); undefined when they should. */
  problem(): string | undefined {
    const broken = this.#journal?.broken;
    if (broken) return `${broken.message}; restart the bot once the disk is healthy`;
    if (this.#writeError) return this.#writeError.message;
    if (this.#compactError) return `writing ${this.#snapshot.path} failed: ${this.#compactError.message}`;
    return undefined;
  }

  /** The disk took a write again: forget the refused one, and write the snapshot that could not be. */
  async recovered(): Promise<void> {
    this.#writeError = undefined;
    if (this.#compactError) await this.compact().catch(() => undefined);
  }

  /** Folds the journal into the snapshot and stops taking writes. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#journal !== undefined) await this.flush().catch(() => undefined);
    this.#closed = true;
    if (this.#compactTimer) clearTimeout(this.#compactTimer);
    await this.#journal?.close();
    this.#journal = undefined;
  }

  /** Stops taking writes without folding anything in (an open that failed half-way). */
  async abandon(): Promise<void> {
    this.#closed = true;
    if (this.#compactTimer) clearTimeout(this.#compactTimer);
    const journal = this.#journal;
    this.#journal = undefined;
    await journal?.close();
  }
}
