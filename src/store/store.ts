/**
 * What the bot keeps: requests, runs, the VMs they made and numbered sequences, behind one interface with two
 * implementations — the embedded lowdb file (`lowdb.ts`, the default) and PostgreSQL
 * (`postgres/store.ts`, DATABASE_URL), picked by `openStore`. Reads are from memory and synchronous;
 * every change is a compare-and-set (`expect`) that is durable when it resolves.
 */
import { CodedError, EXIT } from '../errors.js';
import { ownerOf, type RequestRecord, type RequestState, type RunRecord, type RunState, type VmRecord, type VmState } from './records.js';

/** What runs are indexed by: their request, their batch, their state, and who owns their VM. */
export const RUN_INDEXES = {
  requestId: (r: RunRecord) => r.requestId,
  group: (r: RunRecord) => r.group,
  state: (r: RunRecord) => r.state,
  owner: (r: RunRecord) => ownerOf(r),
} as const satisfies Record<string, (r: RunRecord) => string | undefined>;
export type RunIndex = keyof typeof RUN_INDEXES;

/** What requests are indexed by: who asked, their state, and the modal submission they came from. */
export const REQUEST_INDEXES = {
  requester: (r: RequestRecord) => r.requester,
  state: (r: RequestRecord) => r.state,
  sourceViewId: (r: RequestRecord) => r.sourceViewId,
} as const satisfies Record<string, (r: RequestRecord) => string | undefined>;
export type RequestIndex = keyof typeof REQUEST_INDEXES;

/** What VM records are indexed by: who owns them, their state, and the run that made them. */
export const VM_INDEXES = {
  owner: (v: VmRecord) => v.owner,
  state: (v: VmRecord) => v.state,
  runId: (v: VmRecord) => v.runId,
} as const satisfies Record<string, (v: VmRecord) => string | undefined>;
export type VmIndex = keyof typeof VM_INDEXES;

/**
 * Copies of the indexed records that pass `filter`, oldest first; with `newest`, only the newest
 * that many. Only the records returned are copied.
 */
export function copiesOf<T extends { createdAt: string }>(rows: readonly T[], filter?: (r: Readonly<T>) => boolean, newest?: number): T[] {
  const picked = (filter ? rows.filter(filter) : [...rows]).sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  return (newest === undefined ? picked : picked.slice(Math.max(0, picked.length - newest))).map((r) => structuredClone(r));
}

export type StoreErrorCode = 'STORE_CORRUPT' | 'STORE_LOCKED' | 'STORE_CONFLICT' | 'STORE_NOT_FOUND' | 'STORE_UNAVAILABLE' | 'STORE_UNWRITABLE';

/** Storage that can't be used now (or lost a race) fails the command; the rest mean the input was wrong. */
const FAILED_CODES: ReadonlySet<StoreErrorCode> = new Set(['STORE_UNWRITABLE', 'STORE_UNAVAILABLE', 'STORE_CONFLICT']);

export class StoreError extends CodedError {
  override readonly name = 'StoreError';
  declare readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string) {
    super(code, message, { exitCode: FAILED_CODES.has(code) ? EXIT.failed : EXIT.badInput });
  }
}

/** The compare in compare-and-set: the version read, and/or the states the record may be in. */
export interface StoreExpect<S extends string> {
  version?: number;
  states?: readonly S[];
}

/** A run by id, and runs found by index or filter; all from memory, as copies. */
export interface RunReads {
  getRun(id: string): RunRecord | undefined;
  /** Copies of the runs that pass `filter` (every run is looked at: for commands, not per request). */
  listRuns(filter?: (r: Readonly<RunRecord>) => boolean): RunRecord[];
  /** Copies of the runs filed under `key` in an index (and passing `filter`), oldest first. */
  runsBy(index: RunIndex, key: string, filter?: (r: Readonly<RunRecord>) => boolean): RunRecord[];
  /** The keys runs are filed under in an index (e.g. everyone who owns a run), without visiting the runs. */
  runKeys(index: RunIndex): string[];
}

export interface RunWrites {
  insertRuns(runs: RunRecord[]): Promise<void>;
  /**
   * Compare-and-set: `mutate` runs on a copy only if the stored run matches `expect`; the result
   * (version + 1) is returned. `durable: false` allows a change the next durable one carries.
   */
  updateRun(id: string, expect: StoreExpect<RunState>, mutate: (run: RunRecord) => void, options?: { durable?: boolean }): Promise<RunRecord>;
}

/** A request by id, and requests found by index or filter; all from memory, as copies. */
export interface RequestReads {
  getRequest(id: string): RequestRecord | undefined;
  listRequests(filter?: (r: Readonly<RequestRecord>) => boolean): RequestRecord[];
  /** Copies of the requests filed under `key` in an index (and passing `filter`), oldest first; with `newest`, only that many. */
  requestsBy(index: RequestIndex, key: string, filter?: (r: Readonly<RequestRecord>) => boolean, newest?: number): RequestRecord[];
  /** How many requests are filed under `key` (e.g. in a state, or of a requester), without copying any. */
  countRequests(index: RequestIndex, key: string): number;
}

export interface RequestWrites {
  insertRequest(request: RequestRecord): Promise<void>;
  updateRequest(id: string, expect: StoreExpect<RequestState>, mutate: (request: RequestRecord) => void): Promise<RequestRecord>;
}

/** A VM record by id, and VM records found by index or filter; all from memory, as copies. */
export interface VmReads {
  getVm(id: string): VmRecord | undefined;
  listVms(filter?: (v: Readonly<VmRecord>) => boolean): VmRecord[];
  /** Copies of the VM records filed under `key` in an index (and passing `filter`), oldest first. */
  vmsBy(index: VmIndex, key: string, filter?: (v: Readonly<VmRecord>) => boolean): VmRecord[];
  /** The keys VM records are filed under in an index (e.g. everyone who owns a VM). */
  vmKeys(index: VmIndex): string[];
}

export interface VmWrites {
  /** Adds a VM record; STORE_CONFLICT if one with its id exists (a run makes one VM). */
  insertVm(vm: VmRecord): Promise<void>;
  /** Compare-and-set, as `updateRun`; always durable. */
  updateVm(id: string, expect: StoreExpect<VmState>, mutate: (vm: VmRecord) => void): Promise<VmRecord>;
}

export interface Sequences {
  /** Next number of a named sequence (REQ-n). */
  nextNumber(sequence: string): Promise<number>;
}

export interface CatchUp {
  /**
   * Bring this process's copy of one record up to date (another process may have just created or
   * changed it). Nothing to do where there is one process.
   */
  catchUp(kind: 'runs' | 'requests' | 'vms', id: string): Promise<void>;
}

export interface Admission {
  /**
   * Run `work` while no other admission (filing a request, deciding one that waited) runs in any
   * bot process, on records brought up to date first: a check-then-act inside it (limits, quota,
   * names) cannot be beaten by a concurrent one. `work` writes through the usual methods.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
}

export interface RunClaims {
  /**
   * Take a run for this process until `ttlMs` from now (renewed while it runs), so no other
   * process executes it meanwhile. False: another process holds it.
   */
  claimRun(id: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Keep holding these runs for another `ttlMs`. */
  renewClaims(owner: string, ids: readonly string[], ttlMs: number): Promise<void>;
  releaseRun(id: string, owner: string): Promise<void>;
  /**
   * Runs left unfinished (pending, running or cleaning up) that nobody holds: their process died
   * or stopped. Another process continues them.
   */
  orphanedRuns(): Promise<RunRecord[]>;
}

export interface Leadership {
  /** Whether this process runs the background sweeps now (one process at a time). */
  leads(): Promise<boolean>;
}

/**
 * How bot processes sharing a store stay out of each other's way. The embedded store has one
 * process (its lock file), so it answers these from memory (`single-process.ts`); PostgreSQL's
 * processes coordinate through the database (`postgres/coordination.ts`).
 */
export type Coordination = CatchUp & Admission & RunClaims & Leadership;

export interface Archive {
  /** Move old finished records of the working set now; how many moved (0 where nothing is archived). */
  archiveOld(): Promise<number>;
  /** One archived request (newest version), found without reading the whole archive. */
  findArchivedRequest(id: string): Promise<RequestRecord | undefined>;
  /** The archived runs of one request. */
  archivedRunsOf(requestId: string): Promise<RunRecord[]>;
  /** Records moved out of the working set (old and finished), newest version of each. */
  readArchived(kind: 'runs'): Promise<RunRecord[]>;
  readArchived(kind: 'requests'): Promise<RequestRecord[]>;
  readArchived(kind: 'vms'): Promise<VmRecord[]>;
}

/**
 * The archive of a store that keeps everything in its working set (PostgreSQL): nothing is ever
 * moved, so nothing is found there.
 */
export const NOTHING_ARCHIVED: Archive = {
  archiveOld: () => Promise.resolve(0),
  findArchivedRequest: () => Promise.resolve(undefined),
  archivedRunsOf: () => Promise.resolve([]),
  readArchived: () => Promise.resolve([]),
};

export interface StoreHealth {
  /** Where the data lives, for messages (a file, or a database without its password). */
  readonly description: string;
  /** Whether it can take writes now, from what is known (no I/O). */
  health(): { ok: true } | { ok: false; problem: string };
  /** Whether it can take writes now, asked of the storage itself (readiness checks). */
  ping(): Promise<{ ok: true } | { ok: false; problem: string }>;
}

export interface StoreLifecycle {
  /** Everything written so far is on disk (or in the database). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Everything a store does; each consumer needs only some of it (the interfaces above). */
export interface Store
  extends
    RunReads,
    RunWrites,
    RequestReads,
    RequestWrites,
    VmReads,
    VmWrites,
    Sequences,
    CatchUp,
    Admission,
    RunClaims,
    Leadership,
    Archive,
    StoreHealth,
    StoreLifecycle {}
