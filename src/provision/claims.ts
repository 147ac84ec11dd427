/**
 * Which runs this process works on. A run executing here is refused to a second caller; a run
 * is claimed in the store first, so another bot process sharing the database does not take it
 * too. Claims are renewed by a timer while this process holds any, and the timer stops when it
 * holds none. `stop()` lets nothing new start and waits for the runs executing to finish.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { RunBusyError } from './errors.js';

export type ClaimStore = Pick<Store, 'claimRun' | 'renewClaims' | 'releaseRun' | 'catchUp'>;

export class RunClaims {
  readonly #store: ClaimStore;
  readonly #logger: Logger | undefined;
  /** Who this process is, in run claims (several bot processes may share one database). */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  /** How long a claim lasts unrenewed before another process may take the run over. */
  readonly ttlMs: number;
  /** Runs executing in this process: a second caller gets a conflict, not a second executor. */
  readonly #active = new Set<string>();
  /** Runs a batch in this process will execute: held, so no other process starts them meanwhile. */
  readonly #held = new Set<string>();
  #heartbeat: NodeJS.Timeout | undefined;
  /** Set by stop(): no new run or step starts; the VergeOS call in flight finishes and is saved. */
  #stopping = false;
  readonly #stop = new AbortController();
  /** Aborted by stop(): a run's call still waiting for the request budget gives up unsent (it is looked up at the next start). */
  readonly stopSignal: AbortSignal = this.#stop.signal;

  constructor(store: ClaimStore, logger: Logger | undefined, ttlMs: number) {
    this.#store = store;
    this.#logger = logger;
    this.ttlMs = ttlMs;
  }

  /** This process starts working on a run: busy here, or held by another process, is refused. */
  async take(runId: string, busy: string): Promise<void> {
    if (this.#active.has(runId)) throw new RunBusyError(busy);
    this.#active.add(runId);
    let claimed: boolean;
    try {
      claimed = await this.#store.claimRun(runId, this.owner, this.ttlMs);
    } catch (err) {
      this.#active.delete(runId);
      throw err;
    }
    if (!claimed) {
      this.#active.delete(runId);
      throw new RunBusyError(`${busy} (another bot process is working on it)`);
    }
    this.#beat();
    // Ours now: work from its latest version (another process may have just moved it on).
    await this.#store.catchUp('runs', runId).catch(async (err: unknown) => {
      await this.drop(runId);
      throw err;
    });
  }

  /** This process is done with the run; its claim is released unless a batch here still holds it. */
  async drop(runId: string): Promise<void> {
    this.#active.delete(runId);
    if (!this.#held.has(runId))
      await this.#store
        .releaseRun(runId, this.owner)
        .catch((err: unknown) => this.#logger?.warn({ runId, err: (err as Error).message }, 'releasing a run claim failed'));
  }

  /** Hold runs this process will execute soon (a batch's queue); the ones another process holds are left out. */
  async hold(runIds: readonly string[]): Promise<string[]> {
    const mine: string[] = [];
    for (const id of runIds) {
      if (await this.#store.claimRun(id, this.owner, this.ttlMs)) {
        this.#held.add(id);
        mine.push(id);
      }
    }
    this.#beat();
    return mine;
  }

  async unhold(runIds: readonly string[]): Promise<void> {
    for (const id of runIds) {
      if (!this.#held.delete(id)) continue;
      if (!this.#active.has(id)) await this.#store.releaseRun(id, this.owner).catch(() => undefined);
    }
  }

  /** Renew the claims while this process works; stop when it holds nothing. */
  #beat(): void {
    if (this.#heartbeat) return;
    this.#heartbeat = setInterval(
      () => {
        const ids = [...new Set([...this.#active, ...this.#held])];
        if (!ids.length) {
          clearInterval(this.#heartbeat);
          this.#heartbeat = undefined;
          return;
        }
        void this.#store
          .renewClaims(this.owner, ids, this.ttlMs)
          .catch((err: unknown) => this.#logger?.warn({ err: (err as Error).message }, 'renewing run claims failed'));
      },
      Math.max(10, Math.floor(this.ttlMs / 3)),
    );
    this.#heartbeat.unref();
  }

  /** Whether this process is executing the run now. */
  isExecuting(runId: string): boolean {
    return this.#active.has(runId);
  }

  /** Runs (and cleanups) executing now. */
  get inFlight(): number {
    return this.#active.size;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Start nothing new; resolves when no run executes here (the caller bounds the wait). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stop.abort();
    while (this.#active.size) await new Promise((r) => setTimeout(r, 20));
  }
}
