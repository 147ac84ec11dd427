/**
 * The PostgreSQL store (DATABASE_URL). The database is the truth; each process keeps a copy of
 * the records in memory for the synchronous reads the core makes, kept fresh by LISTEN/NOTIFY.
 * Every change is a conditional UPDATE on the record's version (`… WHERE id = $1 AND version = $2`):
 * two clicks, two leads or two processes get one transition, however stale a copy was. A copy that
 * lost a race is refreshed from the database before the conflict is reported.
 */
import pg from 'pg';
import type { Logger } from '../../log.js';
import { requestRecordSchema, runRecordSchema, type RequestRecord, type RequestState, type RunRecord, type RunState } from '../records.js';
import type { IndexedTable } from '../indexed-table.js';
import { RecordTables } from '../record-tables.js';
import { StoreError, type Store, type StoreExpect } from '../store.js';
import { MIGRATIONS } from './migrations.js';
import { Mutex } from '../mutex.js';

/** Advisory lock ids (arbitrary, fixed): migrations, and the process that leads the sweeps. */
const MIGRATION_LOCK = 7_240_101;
const LEADER_LOCK = 7_240_104;
/** Held while a request is admitted (filed, or decided after waiting), by one process at a time. */
const ADMISSION_LOCK = 7_240_105;
const CHANNEL = 'vmbot_changes';

type Table = 'runs' | 'requests';
type RecordOf<T extends Table> = T extends 'runs' ? RunRecord : RequestRecord;

interface Change {
  t: Table;
  id: string;
  v: number;
}

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
  #listener: pg.Client;
  readonly #url: string;
  /** Set while the LISTEN connection is down: copies may be stale until it is back. */
  #listenerProblem: string | undefined;
  readonly #logger: Logger | undefined;
  #problem: string | undefined;
  /** The connection holding the leader lock, once this process leads. */
  #leader: pg.PoolClient | undefined;
  #closed = false;

  private constructor(url: string, pool: pg.Pool, listener: pg.Client, logger: Logger | undefined) {
    super();
    this.description = describeUrl(url);
    this.#pool = pool;
    this.#listener = listener;
    this.#url = url;
    this.#logger = logger;
  }

  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    const failed = (err: unknown) => new StoreError('STORE_UNAVAILABLE', `cannot use the database at ${describeUrl(url)}: ${(err as Error).message}`);
    let listener: pg.Client | undefined;
    try {
      await migrate(pool);
      listener = new pg.Client({ connectionString: url });
      await listener.connect();
      await listener.query(`LISTEN ${CHANNEL}`);
      const store = new PostgresStore(url, pool, listener, options.logger);
      store.#watch(listener);
      pool.on('error', (err) => (store.#problem = `the database connection failed: ${err.message}`));
      await store.#load();
      return store;
    } catch (err) {
      await listener?.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
      throw err instanceof StoreError ? err : failed(err);
    }
  }

  /** Follow other processes' changes; if the connection drops, reconnect and re-read everything. */
  #watch(listener: pg.Client): void {
    listener.on('notification', (n) => void this.#changed(n.payload));
    const lost = (why: string) => {
      if (this.#closed || this.#listenerProblem) return;
      this.#listenerProblem = `lost the database's change feed (${why}); reconnecting`;
      this.#logger?.warn({ err: why }, 'the LISTEN connection dropped; reconnecting');
      setTimeout(() => void this.#reconnect(), 1_000).unref();
    };
    listener.on('error', (err) => lost(err.message));
    listener.on('end', () => lost('connection closed'));
  }

  async #reconnect(): Promise<void> {
    if (this.#closed) return;
    const listener = new pg.Client({ connectionString: this.#url });
    try {
      await listener.connect();
      await listener.query(`LISTEN ${CHANNEL}`);
      await this.#load(); // what changed while nobody listened
      this.#listener = listener;
      this.#listenerProblem = undefined;
      this.#watch(listener);
    } catch (err) {
      await listener.end().catch(() => undefined);
      this.#logger?.warn({ err: (err as Error).message }, 'reconnecting the LISTEN connection failed; trying again');
      setTimeout(() => void this.#reconnect(), 2_000).unref();
    }
  }

  async #load(): Promise<void> {
    const [runs, requests] = await Promise.all([
      this.#pool.query<{ data: unknown }>('SELECT data FROM runs ORDER BY seq'),
      this.#pool.query<{ data: unknown }>('SELECT data FROM requests ORDER BY seq'),
    ]);
    // Newer only: a change this process committed after the read must not be undone.
    for (const row of runs.rows) {
      const run = parse('runs', row.data, this.description);
      if ((this.runs.get(run.id)?.version ?? -1) < run.version) this.runs.set(run);
    }
    for (const row of requests.rows) {
      const request = parse('requests', row.data, this.description);
      if ((this.requests.get(request.id)?.version ?? -1) < request.version) this.requests.set(request);
    }
  }

  /** Another process changed a record: fetch it if our copy is older. */
  async #changed(payload: string | undefined): Promise<void> {
    let change: Change;
    try {
      change = JSON.parse(payload ?? '') as Change;
    } catch {
      return;
    }
    const mine = (change.t === 'runs' ? this.runs : this.requests).get(change.id);
    if (mine && mine.version >= change.v) return;
    await this.#refresh(change.t, change.id).catch((err: unknown) => this.#logger?.warn({ err: (err as Error).message }, 'refreshing a changed record failed'));
  }

  async #refresh(table: Table, id: string): Promise<void> {
    const { rows } = await this.#pool.query<{ data: unknown }>(`SELECT data FROM ${table} WHERE id = $1`, [id]);
    if (!rows[0]) return;
    const record = parse(table, rows[0].data, this.description);
    const map = (table === 'runs' ? this.runs : this.requests) as unknown as IndexedTable<RecordOf<typeof table>, string>;
    const mine = map.get(id);
    if (!mine || mine.version < record.version) map.set(record);
  }

  catchUp(kind: Table, id: string): Promise<void> {
    return this.#refresh(kind, id);
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
      for (const run of runs)
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ t: 'runs', id: run.id, v: run.version } satisfies Change)]);
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
          JSON.stringify({ t: 'requests', id: request.id, v: request.version } satisfies Change),
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

  /**
   * Compare-and-set: checked against our copy, then made conditional on the version in the
   * database. A change that names no version (only states, or nothing) applies to whatever is
   * current: when our copy was behind, it is refreshed and the change tried again.
   */
  async #update<T extends Table>(table: T, id: string, expect: StoreExpect<string>, mutate: (record: RecordOf<T>) => void): Promise<RecordOf<T>> {
    const map = (table === 'runs' ? this.runs : this.requests) as unknown as IndexedTable<RecordOf<T>, string>;
    const noun = table === 'runs' ? 'run' : 'request';
    for (let attempt = 0; ; attempt++) {
      const current = map.get(id);
      if (!current) throw new StoreError('STORE_NOT_FOUND', `no ${noun} ${id}`);
      if (expect.version !== undefined && current.version !== expect.version) {
        throw new StoreError('STORE_CONFLICT', `${noun} ${id} changed meanwhile (version ${current.version}, expected ${expect.version})`);
      }
      if (expect.states && !expect.states.includes(current.state))
        throw new StoreError('STORE_CONFLICT', `${noun} ${id} is ${current.state}, not ${expect.states.join(' or ')}`);
      const draft = structuredClone(current);
      mutate(draft);
      draft.version = current.version + 1;
      draft.updatedAt = new Date().toISOString();
      const { rowCount } = await this.#pool.query(
        `WITH updated AS (
           UPDATE ${table} SET data = $1, version = $2, state = $3, updated_at = $4 WHERE id = $5 AND version = $6 RETURNING id
         )
         SELECT pg_notify($7, $8) FROM updated`,
        [draft, draft.version, draft.state, draft.updatedAt, id, current.version, CHANNEL, JSON.stringify({ t: table, id, v: draft.version } satisfies Change)],
      );
      if (rowCount) {
        const mine = map.get(id);
        if (!mine || mine.version < draft.version) map.set(structuredClone(draft));
        return structuredClone(draft);
      }
      // Someone got there first (this process or another): take their version.
      await this.#refresh(table, id);
      if (expect.version !== undefined || attempt >= 8)
        throw new StoreError('STORE_CONFLICT', `${noun} ${id} changed meanwhile (another change got there first)`);
    }
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

  async orphanedRuns(): Promise<RunRecord[]> {
    const { rows } = await this.#pool.query<{ data: unknown }>(
      `SELECT data FROM runs WHERE state IN ('pending', 'running', 'cleaning_up') AND (claimed_until IS NULL OR claimed_until < now()) ORDER BY seq`,
    );
    return rows.map((r) => parse('runs', r.data, this.description));
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

  readonly #admissions = new Mutex();

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
          await this.#catchUpAll(client);
          return await work();
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [ADMISSION_LOCK]);
        }
      } finally {
        client.release();
      }
    });
  }

  /** Reads the rows whose version is newer than this process's copy (by id and version first: cheap). */
  async #catchUpAll(client: pg.PoolClient): Promise<void> {
    for (const table of ['requests', 'runs'] as const) {
      const map = (table === 'runs' ? this.runs : this.requests) as unknown as IndexedTable<RecordOf<typeof table>, string>;
      const { rows } = await client.query<{ id: string; version: number }>(`SELECT id, version FROM ${table}`);
      const stale = rows.filter((r) => (map.get(r.id)?.version ?? -1) < r.version).map((r) => r.id);
      if (!stale.length) continue;
      const fresh = await client.query<{ data: unknown }>(`SELECT data FROM ${table} WHERE id = ANY($1)`, [stale]);
      for (const row of fresh.rows) {
        const record = parse(table, row.data, this.description);
        if ((map.get(record.id)?.version ?? -1) < record.version) map.set(record);
      }
    }
  }

  /** Everything stays in the database. */
  async archiveOld(): Promise<number> {
    return 0;
  }

  async findArchivedRequest(): Promise<RequestRecord | undefined> {
    return undefined;
  }

  async archivedRunsOf(): Promise<RunRecord[]> {
    return [];
  }

  readArchived(kind: 'runs'): Promise<RunRecord[]>;
  readArchived(kind: 'requests'): Promise<RequestRecord[]>;
  async readArchived(): Promise<RunRecord[] | RequestRecord[]> {
    return []; // everything stays in the database, and in the working set
  }

  health(): { ok: true } | { ok: false; problem: string } {
    if (this.#closed) return { ok: false, problem: 'the store is closed' };
    if (this.#problem ?? this.#listenerProblem) return { ok: false, problem: (this.#problem ?? this.#listenerProblem)! };
    return { ok: true };
  }

  /** Asks the database; a connection problem seen earlier is forgotten once it answers again. */
  async ping(): Promise<{ ok: true } | { ok: false; problem: string }> {
    if (this.#closed) return { ok: false, problem: 'the store is closed' };
    try {
      await this.#pool.query('SELECT 1');
      this.#problem = undefined;
      if (this.#listenerProblem) return { ok: false, problem: this.#listenerProblem };
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
    await this.#listener.end().catch(() => undefined);
    if (this.#leader) {
      // Hand the sweeps on at once (a dead process's lock goes with its connection).
      await this.#leader.query('SELECT pg_advisory_unlock($1)', [LEADER_LOCK]).catch(() => undefined);
      this.#leader.release();
    }
    await this.#pool.end();
  }
}

function parse<T extends Table>(table: T, data: unknown, where: string): RecordOf<T> {
  const schema = table === 'runs' ? runRecordSchema : requestRecordSchema;
  const parsed = schema.safeParse(data);
  if (!parsed.success)
    throw new StoreError('STORE_CORRUPT', `a ${table.slice(0, -1)} in ${where} is not valid: ${parsed.error.issues[0]?.message ?? 'unknown shape'}`);
  return parsed.data as RecordOf<T>;
}

/** Apply what is missing of MIGRATIONS, one transaction each, one process at a time. */
export async function migrate(pool: pg.Pool): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
        applied.push(m.version);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return applied;
}
