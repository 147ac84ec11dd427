/**
 * How bot processes sharing one PostgreSQL database stay out of each other's way: claims on runs
 * (a row's `claimed_by` / `claimed_until`, lapsing when their process stops renewing them), one
 * leader for the sweeps and one admission at a time (session advisory locks, released if their
 * connection dies), and catching up on what other processes changed.
 */
import type pg from 'pg';
import { Mutex } from '../mutex.js';
import type { RunRecord } from '../records.js';
import { UNFINISHED_RUN_STATES_SQL } from '../run-states.js';
import type { Coordination } from '../store.js';
import type { RecordCache, Table } from './record-cache.js';

/** Advisory lock ids (arbitrary, fixed; migrations have theirs): the process that leads the sweeps … */
const LEADER_LOCK = 7_240_104;
/** … and the one admitting a request (filed, or decided after waiting) now. */
const ADMISSION_LOCK = 7_240_105;

export class PostgresCoordination implements Coordination {
  readonly #pool: pg.Pool;
  readonly #cache: RecordCache;
  readonly #admissions = new Mutex();
  /** The connection holding the leader lock, once this process leads. */
  #leader: pg.PoolClient | undefined;

  constructor(pool: pg.Pool, cache: RecordCache) {
    this.#pool = pool;
    this.#cache = cache;
  }

  catchUp(kind: Table, id: string): Promise<void> {
    return this.#cache.refresh(kind, id);
  }

  async claimRun(id: string, owner: string, ttlMs: number): Promise<boolean> {
    const { rowCount } = await this.#pool.query(
      `UPDATE runs SET claimed_by = $2, claimed_until = now() + make_interval(secs => $3::float8 / 1000)
       WHERE id = $1 AND (claimed_by IS NULL OR claimed_by = $2 OR claimed_until < now())`,
      [id, owner, ttlMs],
    );
    return rowCount === 1;
  }

  async renewClaims(owner: string, ids: readonly string[], ttlMs: number): Promise<void> {
    if (!ids.length) return;
    await this.#pool.query('UPDATE runs SET claimed_until = now() + make_interval(secs => $3::float8 / 1000) WHERE id = ANY($1) AND claimed_by = $2', [
      ids,
      owner,
      ttlMs,
    ]);
  }

  async releaseRun(id: string, owner: string): Promise<void> {
    await this.#pool.query('UPDATE runs SET claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND claimed_by = $2', [id, owner]);
  }

  /** Unfinished runs whose claim lapsed or was never taken (the partial index `runs_unfinished` covers this). */
  async orphanedRuns(): Promise<RunRecord[]> {
    const { rows } = await this.#pool.query<{ data: unknown }>(
      `SELECT data FROM runs WHERE state IN (${UNFINISHED_RUN_STATES_SQL}) AND (claimed_until IS NULL OR claimed_until < now()) ORDER BY seq`,
    );
    return rows.map((r) => this.#cache.parse('runs', r.data));
  }

  /** One process leads the sweeps: whoever holds the advisory lock on its own connection (released if it dies). */
  async leads(): Promise<boolean> {
    if (this.#leader) return true;
    const client = await this.#pool.connect();
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LEADER_LOCK]);
    if (rows[0]?.ok) {
      this.#leader = client;
      return true;
    }
    client.release();
    return false;
  }

  /**
   * Serialized in this process first (one pooled connection waits, not many), then across
   * processes by a session advisory lock; with it held, every record another process changed is
   * read, so the work checks against what is committed. A dropped connection releases the lock.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.#admissions.run(async () => {
      const client = await this.#pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [ADMISSION_LOCK]);
        try {
          await this.#cache.catchUpAll(client);
          return await work();
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [ADMISSION_LOCK]);
        }
      } finally {
        client.release();
      }
    });
  }

  /** Hand the sweeps on at once (a dead process's lock goes with its connection). */
  async close(): Promise<void> {
    if (!this.#leader) return;
    await this.#leader.query('SELECT pg_advisory_unlock($1)', [LEADER_LOCK]).catch(() => undefined);
    this.#leader.release();
  }
}
