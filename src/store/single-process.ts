/**
 * Coordination where one bot process has the store to itself (the embedded store: its lock file
 * keeps every other writer out). Memory is then the whole truth, so there is nothing to catch up
 * on and a claim never lapses; claims only keep this process from running a run twice, and
 * admissions need only be serialized within it.
 */
import { Mutex } from './mutex.js';
import type { RunRecord } from './records.js';
import { UNFINISHED_RUN_STATES } from './run-states.js';
import type { Coordination, RunReads } from './store.js';

export class SingleProcess implements Coordination {
  readonly #runs: Pick<RunReads, 'runsBy'>;
  readonly #leads: boolean;
  readonly #admissions = new Mutex();
  /** Run id → the owner holding it. */
  readonly #claims = new Map<string, string>();

  /** `leads`: whether this process runs the sweeps (a writer does; a read-only copy never). */
  constructor(runs: Pick<RunReads, 'runsBy'>, leads: boolean) {
    this.#runs = runs;
    this.#leads = leads;
  }

  /** Memory is the truth: nobody else changes the records. */
  async catchUp(): Promise<void> {}

  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.#admissions.run(work);
  }

  async claimRun(id: string, owner: string): Promise<boolean> {
    const holder = this.#claims.get(id);
    if (holder !== undefined && holder !== owner) return false;
    this.#claims.set(id, owner);
    return true;
  }

  /** A claim lasts until it is released (no other process can outlive this one to take it over). */
  async renewClaims(): Promise<void> {}

  async releaseRun(id: string, owner: string): Promise<void> {
    if (this.#claims.get(id) === owner) this.#claims.delete(id);
  }

  async orphanedRuns(): Promise<RunRecord[]> {
    return UNFINISHED_RUN_STATES.flatMap((state) => this.#runs.runsBy('state', state, (r) => !this.#claims.has(r.id)));
  }

  async leads(): Promise<boolean> {
    return this.#leads;
  }
}
