/**
 * The store: one lowdb JSON file under DATA_DIR, validated with zod when read, written by one
 * process at a time (a lock file), changed only by compare-and-set. A corrupt or hand-edited file
 * stops start-up with a message naming the file and what is wrong; it is never overwritten.
 */
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync, chmodSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { formatPath } from '../spec/validate.js';
import { storeFileSchema, type RunRecord, type RunState, type StoreFile } from './records.js';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: 'STORE_CORRUPT' | 'STORE_LOCKED' | 'STORE_CONFLICT' | 'STORE_NOT_FOUND',
    message: string,
  ) {
    super(message);
  }
}

export const STORE_FILE = 'vmbot.json';
const LOCK_FILE = 'vmbot.lock';

const emptyStore = (): StoreFile => ({ version: 1, runs: [], requests: [], counters: {} });

export interface OpenStoreOptions {
  /** Read without taking the writer lock (for `vmbot runs` while the bot runs). Writes are refused. */
  readOnly?: boolean;
}

export class Store {
  readonly file: string;
  readonly #db: Low<StoreFile>;
  readonly #lockPath: string | undefined;
  readonly #readOnly: boolean;

  private constructor(dataDir: string, db: Low<StoreFile>, lockPath: string | undefined, readOnly: boolean) {
    this.file = join(dataDir, STORE_FILE);
    this.#db = db;
    this.#lockPath = lockPath;
    this.#readOnly = readOnly;
  }

  static async open(dataDir: string, options: OpenStoreOptions = {}): Promise<Store> {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const lockPath = options.readOnly ? undefined : takeLock(join(dataDir, LOCK_FILE));
    try {
      const file = join(dataDir, STORE_FILE);
      const db = new Low<StoreFile>(new JSONFile<StoreFile>(file), emptyStore());
      try {
        await db.read();
      } catch (err) {
        throw new StoreError('STORE_CORRUPT', `${file} is not valid JSON (${(err as Error).message}). Fix or move it away; the bot will not overwrite it.`);
      }
      const parsed = storeFileSchema.safeParse(db.data);
      if (!parsed.success) {
        const issues = parsed.error.issues.slice(0, 5).map((i) => `${formatPath(i.path)}: ${i.message}`);
        throw new StoreError('STORE_CORRUPT', `${file} does not look like a vmbot store (${issues.join('; ')}). Fix or move it away; the bot will not overwrite it.`);
      }
      db.data = parsed.data;
      const store = new Store(dataDir, db, lockPath, options.readOnly ?? false);
      if (!options.readOnly) {
        await db.write();
        chmodSync(file, 0o600); // it holds specs, which may carry a console password hash
      }
      return store;
    } catch (err) {
      if (lockPath) releaseLock(lockPath);
      throw err;
    }
  }

  get data(): Readonly<StoreFile> {
    return this.#db.data;
  }

  /** Apply a change and save it; resolves once it (or a newer state) is on disk. */
  async #commit(change: (data: StoreFile) => void): Promise<void> {
    if (this.#readOnly) throw new Error('this store was opened read-only');
    change(this.#db.data);
    await this.#db.write();
  }

  /** Next number of a named sequence (REQ-n, run ids), saved with the next write. */
  nextNumber(sequence: string): number {
    const n = (this.#db.data.counters[sequence] ?? 0) + 1;
    this.#db.data.counters[sequence] = n;
    return n;
  }

  // ---- runs -----------------------------------------------------------------------------------

  getRun(id: string): RunRecord | undefined {
    const run = this.#db.data.runs.find((r) => r.id === id);
    return run ? structuredClone(run) : undefined;
  }

  listRuns(): RunRecord[] {
    return structuredClone(this.#db.data.runs);
  }

  async insertRun(run: RunRecord): Promise<void> {
    await this.#commit((data) => {
      if (data.runs.some((r) => r.id === run.id)) throw new StoreError('STORE_CONFLICT', `run ${run.id} already exists`);
      data.runs.push(structuredClone(run));
    });
  }

  /**
   * Compare-and-set: `mutate` runs only if the stored run still has `expectedVersion` (and, when
   * given, one of `expectedStates`). The change is on disk when this resolves.
   */
  async updateRun(id: string, expect: { version?: number; states?: readonly RunState[] }, mutate: (run: RunRecord) => void): Promise<RunRecord> {
    let updated: RunRecord | undefined;
    await this.#commit((data) => {
      const run = data.runs.find((r) => r.id === id);
      if (!run) throw new StoreError('STORE_NOT_FOUND', `no run ${id}`);
      if (expect.version !== undefined && run.version !== expect.version) {
        throw new StoreError('STORE_CONFLICT', `run ${id} changed meanwhile (version ${run.version}, expected ${expect.version})`);
      }
      if (expect.states && !expect.states.includes(run.state)) {
        throw new StoreError('STORE_CONFLICT', `run ${id} is ${run.state}, not ${expect.states.join(' or ')}`);
      }
      const draft = structuredClone(run);
      mutate(draft);
      draft.version = run.version + 1;
      draft.updatedAt = new Date().toISOString();
      Object.assign(run, draft);
      updated = structuredClone(draft);
    });
    return updated!;
  }

  close(): void {
    if (this.#lockPath) releaseLock(this.#lockPath);
  }
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
        throw new StoreError('STORE_LOCKED', `another vmbot (pid ${owner.pid}) is using ${path.replace(/vmbot\.lock$/, '')}; stop it first or use a different DATA_DIR`);
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
