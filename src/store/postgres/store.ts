/**
 * The PostgreSQL store (DATABASE_URL). The database is the truth; each process keeps a copy of
 * the records in memory for the synchronous reads the core makes, kept fresh by LISTEN/NOTIFY
 * (`record-cache.ts`). Every change is a conditional UPDATE on the record's version
 * (`… WHERE id = $1 AND version = $2`): two clicks, two leads or two processes get one
 * transition, however stale a copy was. A copy that lost a race is refreshed from the database
 * before the conflict is reported. Processes share claims, leadership and admissions through the
 * database (`coordination.ts`); nothing is archived (everything stays in the database).
 */
import pg from 'pg';
import type { Logger } from '../../log.js';
import type { RequestRecord, RequestState, RunRecord, RunState, VmRecord, VmState } from '../records.js';
import { RecordTables } from '../record-tables.js';
import { lostRace, nextVersion } from '../compare-and-set.js';
import { NOTHING_ARCHIVED, StoreError, type Store, type StoreExpect } from '../store.js';
import { migrate } from './migrate.js';
import { recordMissingVms } from '../vms-from-runs.js';
import { PostgresCoordination } from './coordination.js';
import { CHANNEL, changeNote, RecordCache, type RecordOf, type Table } from './record-cache.js';

export { migrate } from './migrate.js';

export interface PostgresStoreOptions {
  logger?: Logger;
}

/** `postgres://user:***@host:port/db`: the URL without its password, for messages. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres (unparsable DATABASE_URL)';
  }
}

export class PostgresStore extends RecordTables implements Store {
  readonly description: string;
  readonly #pool: pg.Pool;
  readonly #cache: RecordCache;
  readonly #coordination: PostgresCoordination;
  #problem: string | undefined;
  #closed = false;

  private constructor(url: string, pool: pg.Pool, logger: Logger | undefined) {
    super();
    this.description = describeUrl(url);
    this.#pool = pool;
    this.#cache = new RecordCache(pool, url, this.description, { runs: this.runs, requests: this.requests, vms: this.vms }, logger);
    this.#coordination = new PostgresCoordination(pool, this.#cache);
  }

  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    const failed = (err: unknown) => new StoreError('STORE_UNAVAILABLE', `cannot use the database at ${describeUrl(url)}: ${(err as Error).message}`);
    let cache: RecordCache | undefined;
    try {
      await migrate(pool);
      const store = new PostgresStore(url, pool, options.logger);
      cache = store.#cache;
      pool.on('error', (err) => (store.#problem = `the database connection failed: ${err.message}`));
      await store.#cache.start();
      // A database from before VMs had records of their own (another process doing the same at once is harmless).
      await recordMissingVms(store);
      return store;
    } catch (err) {
      await cache?.close();
      await pool.end().catch(() => undefined);
      throw err instanceof StoreError ? err : failed(err);
    }
  }

  async nextNumber(sequence: string): Promise<number> {
    if (!/^[a-z][a-z0-9_]*$/.test(sequence)) throw new Error(`not a sequence name: ${sequence}`);
    const name = `vmbot_seq_${sequence}`;
    try {
      const { rows } = await this.#pool.query<{ n: string }>(`SELECT nextval('${name}') AS n`);
      return Number(rows[0]!.n);
    } catch (err) {
      if ((err as { code?: string }).code !== '42P01') throw err; // undefined_table: a new sequence
      await this.#pool.query(`CREATE SEQUENCE IF NOT EXISTS ${name}`).catch(() => undefined);
      const { rows } = await this.#pool.query<{ n: string }>(`SELECT nextval('${name}') AS n`);
      return Number(rows[0]!.n);
    }
  }

  // ---- writes ---------------------------------------------------------------------------------

  async insertRuns(runs: RunRecord[]): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      for (const run of runs) {
        await client.query('INSERT INTO runs (id, version, state, request_id, data, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', [
          run.id,
          run.version,
          run.state,
          run.requestId ?? null,
          run,
          run.updatedAt,
        ]);
      }
      for (const run of runs) await client.query('SELECT pg_notify($1, $2)', [CHANNEL, changeNote('runs', run.id, run.version)]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if ((err as { code?: string }).code === '23505') throw new StoreError('STORE_CONFLICT', `a run of ${runs.map((r) => r.id).join(', ')} already exists`);
      throw err;
    } finally {
      client.release();
    }
    for (const run of runs) this.runs.set(structuredClone(run));
  }

  updateRun(id: string, expect: StoreExpect<RunState>, mutate: (run: RunRecord) => void): Promise<RunRecord> {
    return this.#update('runs', id, expect, mutate);
  }

  async insertRequest(request: RequestRecord): Promise<void> {
    try {
      await this.#pool.query(
        `WITH inserted AS (
           INSERT INTO requests (id, version, state, requester, source_view_id, data, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
         )
         SELECT pg_notify($9, $10) FROM inserted`,
        [
          request.id,
          request.version,
          request.state,
          request.requester,
          request.sourceViewId ?? null,
          request,
          request.createdAt,
          request.updatedAt,
          CHANNEL,
          changeNote('requests', request.id, request.version),
        ],
      );
    } catch (err) {
      if ((err as { code?: string }).code === '23505')
        throw new StoreError('STORE_CONFLICT', `request ${request.id} (or one from the same form) already exists`);
      throw err;
    }
    this.requests.set(structuredClone(request));
  }

  updateRequest(id: string, expect: StoreExpect<RequestState>, mutate: (request: RequestRecord) => void): Promise<RequestRecord> {
    return this.#update('requests', id, expect, mutate);
  }

  async insertVm(vm: VmRecord): Promise<void> {
    try {
      await this.#pool.query(
        `WITH inserted AS (
           INSERT INTO vms (id, version, state, owner, run_id, data, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
         )
         SELECT pg_notify($9, $10) FROM inserted`,
        [vm.id, vm.version, vm.state, vm.owner, vm.runId, vm, vm.createdAt, vm.updatedAt, CHANNEL, changeNote('vms', vm.id, vm.version)],
      );
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new StoreError('STORE_CONFLICT', `VM ${vm.id} already exists`);
      throw err;
    }
    // Newer only: another process may have changed it already (its note read before this line runs).
    this.#cache.keepNewer('vms', structuredClone(vm));
  }

  updateVm(id: string, expect: StoreExpect<VmState>, mutate: (vm: VmRecord) => void): Promise<VmRecord> {
    return this.#update('vms', id, expect, mutate);
  }

  /**
   * Compare-and-set (`compare-and-set.ts`): checked against our copy, then made conditional on the
   * version in the database. A change that names no version (only states, or nothing) applies to
   * whatever is current: when our copy was behind, it is refreshed and the change tried again.
   */
  async #update<T extends Table>(table: T, id: string, expect: StoreExpect<string>, mutate: (record: RecordOf<T>) => void): Promise<RecordOf<T>> {
    const copies = this.#cache.table(table);
    for (let attempt = 0; ; attempt++) {
      const current = copies.get(id);
      const draft = nextVersion(table, id, current, expect, mutate);
      // A VM's owner is a column too (its index), and moves when the VM is handed on.
      const owner = table === 'vms' ? [(draft as VmRecord).owner] : [];
      const { rowCount } = await this.#pool.query(
        `WITH updated AS (
           UPDATE ${table} SET data = $1, version = $2, state = $3, updated_at = $4${owner.length ? ', owner = $9' : ''}
           WHERE id = $5 AND version = $6 RETURNING id
         )
         SELECT pg_notify($7, $8) FROM updated`,
        [draft, draft.version, draft.state, draft.updatedAt, id, current!.version, CHANNEL, changeNote(table, id, draft.version), ...owner],
      );
      if (rowCount) {
        this.#cache.keepNewer(table, structuredClone(draft));
        return structuredClone(draft);
      }
      // Someone got there first (this process or another): take their version.
      await this.#cache.refresh(table, id);
      if (expect.version !== undefined || attempt >= 8) throw lostRace(table, id);
    }
  }

  // ---- coordination: through the database (see coordination.ts) ------------------------------

  catchUp(kind: Table, id: string): Promise<void> {
    return this.#coordination.catchUp(kind, id);
  }

  claimRun(id: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.#coordination.claimRun(id, owner, ttlMs);
  }

  renewClaims(owner: string, ids: readonly string[], ttlMs: number): Promise<void> {
    return this.#coordination.renewClaims(owner, ids, ttlMs);
  }

  releaseRun(id: string, owner: string): Promise<void> {
    return this.#coordination.releaseRun(id, owner);
  }

  orphanedRuns(): Promise<RunRecord[]> {
    return this.#coordination.orphanedRuns();
  }

  leads(): Promise<boolean> {
    return this.#coordination.leads();
  }

  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.#coordination.exclusive(work);
  }

  // ---- archive: none, everything stays in the database ----------------------------------------

  archiveOld(): Promise<number> {
    return NOTHING_ARCHIVED.archiveOld();
  }

  findArchivedRequest(id: string): Promise<RequestRecord | undefined> {
    return NOTHING_ARCHIVED.findArchivedRequest(id);
  }

  archivedRunsOf(requestId: string): Promise<RunRecord[]> {
    return NOTHING_ARCHIVED.archivedRunsOf(requestId);
  }

  readArchived(kind: 'runs'): Promise<RunRecord[]>;
  readArchived(kind: 'requests'): Promise<RequestRecord[]>;
  readArchived(kind: 'vms'): Promise<VmRecord[]>;
  readArchived(kind: Table): Promise<RunRecord[] | RequestRecord[] | VmRecord[]> {
    return kind === 'runs'
      ? NOTHING_ARCHIVED.readArchived('runs')
      : kind === 'requests'
        ? NOTHING_ARCHIVED.readArchived('requests')
        : NOTHING_ARCHIVED.readArchived('vms');
  }

  // ---- health ---------------------------------------------------------------------------------

  health(): { ok: true } | { ok: false; problem: string } {
    if (this.#closed) return { ok: false, problem: 'the store is closed' };
    const problem = this.#problem ?? this.#cache.problem;
    return problem === undefined ? { ok: true } : { ok: false, problem };
  }

  /** Asks the database; a connection problem seen earlier is forgotten once it answers again. */
  async ping(): Promise<{ ok: true } | { ok: false; problem: string }> {
    if (this.#closed) return { ok: false, problem: 'the store is closed' };
    try {
      await this.#pool.query('SELECT 1');
      this.#problem = undefined;
      if (this.#cache.problem) return { ok: false, problem: this.#cache.problem };
      return { ok: true };
    } catch (err) {
      return { ok: false, problem: `the database at ${this.description} does not answer: ${(err as Error).message}` };
    }
  }

  /** Every change is committed before its promise resolves. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#cache.close();
    await this.#coordination.close();
    await this.#pool.end();
  }
}
