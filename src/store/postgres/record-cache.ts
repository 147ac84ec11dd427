/**
 * This process's copy of the PostgreSQL records, for the synchronous reads the core makes: read
 * whole at open, then kept fresh by the change feed (LISTEN/NOTIFY on `CHANNEL`, one note per
 * committed change). A copy is only ever replaced by a newer version, so a change this process
 * committed is never undone by a read that started before it. If the feed's connection drops,
 * it is reconnected and everything read again.
 */
import pg from 'pg';
import type { Logger } from '../../log.js';
import type { IndexedTable } from '../indexed-table.js';
import { requestRecordSchema, runRecordSchema, vmRecordSchema, type RequestRecord, type RunRecord, type VmRecord } from '../records.js';
import { StoreError, type RequestIndex, type RunIndex, type VmIndex } from '../store.js';

export const CHANNEL = 'vmbot_changes';

export type Table = 'runs' | 'requests' | 'vms';
export type RecordOf<T extends Table> = T extends 'runs' ? RunRecord : T extends 'requests' ? RequestRecord : VmRecord;

/** Every table the copy keeps, in the order they are read. */
const TABLES = ['requests', 'runs', 'vms'] as const satisfies readonly Table[];

/** How each table's rows are checked, and what one is called in a message. */
const SCHEMAS = { runs: runRecordSchema, requests: requestRecordSchema, vms: vmRecordSchema } as const;
const NOUNS: Record<Table, string> = { runs: 'run', requests: 'request', vms: 'VM record' };

/** What a change's note says: which record, and its new version. */
export interface Change {
  t: Table;
  id: string;
  v: number;
}

/** The note for a record's new version. */
export const changeNote = (t: Table, id: string, v: number): string => JSON.stringify({ t, id, v } satisfies Change);

export interface CachedTables {
  runs: IndexedTable<RunRecord, RunIndex>;
  requests: IndexedTable<RequestRecord, RequestIndex>;
  vms: IndexedTable<VmRecord, VmIndex>;
}

export class RecordCache {
  readonly #pool: pg.Pool;
  readonly #url: string;
  readonly #description: string;
  readonly #tables: CachedTables;
  readonly #logger: Logger | undefined;
  #listener: pg.Client | undefined;
  /** Set while the LISTEN connection is down: copies may be stale until it is back. */
  #problem: string | undefined;
  #closed = false;
  /** Notes are followed one after another, in the order they came: copies new to this process join its indexes in that order. */
  #following: Promise<void> = Promise.resolve();

  constructor(pool: pg.Pool, url: string, description: string, tables: CachedTables, logger: Logger | undefined) {
    this.#pool = pool;
    this.#url = url;
    this.#description = description;
    this.#tables = tables;
    this.#logger = logger;
  }

  /** The table of copies of one kind. */
  table<T extends Table>(table: T): IndexedTable<RecordOf<T>, string> {
    return this.#tables[table] as unknown as IndexedTable<RecordOf<T>, string>;
  }

  /** Listen for changes, then read everything (a change committed in between is read either way). */
  async start(): Promise<void> {
    const listener = new pg.Client({ connectionString: this.#url });
    try {
      await listener.connect();
      await listener.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      await listener.end().catch(() => undefined);
      throw err;
    }
    this.#listener = listener;
    this.#watch(listener);
    await this.#load();
  }

  /** Why the copies may be stale now (the change feed is down), or undefined. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /** Follow other processes' changes; if the connection drops, reconnect and re-read everything. */
  #watch(listener: pg.Client): void {
    // One at a time: two records created together (a batch's runs) must not swap places because one SELECT came back first.
    listener.on('notification', (n) => {
      this.#following = this.#following
        .then(() => this.#changed(n.payload))
        .catch((err: unknown) => this.#logger?.warn({ err: (err as Error).message }, 'following a change failed'));
    });
    const lost = (why: string) => {
      if (this.#closed || this.#problem) return;
      this.#problem = `lost the database's change feed (${why}); reconnecting`;
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
      this.#problem = undefined;
      this.#watch(listener);
    } catch (err) {
      await listener.end().catch(() => undefined);
      this.#logger?.warn({ err: (err as Error).message }, 'reconnecting the LISTEN connection failed; trying again');
      setTimeout(() => void this.#reconnect(), 2_000).unref();
    }
  }

  async #load(): Promise<void> {
    const read = await Promise.all(TABLES.map((table) => this.#pool.query<{ data: unknown }>(`SELECT data FROM ${table} ORDER BY seq`)));
    // Newer only: a change this process committed after the read must not be undone.
    TABLES.forEach((table, i) => {
      for (const row of read[i]!.rows) this.keepNewer(table, this.parse(table, row.data));
    });
  }

  /** Another process changed a record: fetch it if our copy is older. */
  async #changed(payload: string | undefined): Promise<void> {
    let change: Change;
    try {
      change = JSON.parse(payload ?? '') as Change;
    } catch {
      return;
    }
    // A table this version does not keep (a newer process's): nothing here to refresh.
    if (!(TABLES as readonly string[]).includes(change.t)) return;
    const mine = this.table(change.t).get(change.id);
    if (mine && mine.version >= change.v) return;
    await this.refresh(change.t, change.id).catch((err: unknown) => this.#logger?.warn({ err: (err as Error).message }, 'refreshing a changed record failed'));
  }

  /** Read one record again (another process may have just created or changed it). */
  async refresh(table: Table, id: string): Promise<void> {
    const { rows } = await this.#pool.query<{ data: unknown }>(`SELECT data FROM ${table} WHERE id = $1`, [id]);
    if (rows[0]) this.keepNewer(table, this.parse(table, rows[0].data));
  }

  /** Reads the rows whose version is newer than this process's copy (by id and version first: cheap). */
  async catchUpAll(client: pg.ClientBase): Promise<void> {
    for (const table of TABLES) {
      const { rows } = await client.query<{ id: string; version: number }>(`SELECT id, version FROM ${table}`);
      const stale = rows.filter((r) => (this.table(table).get(r.id)?.version ?? -1) < r.version).map((r) => r.id);
      if (!stale.length) continue;
      const fresh = await client.query<{ data: unknown }>(`SELECT data FROM ${table} WHERE id = ANY($1)`, [stale]);
      for (const row of fresh.rows) this.keepNewer(table, this.parse(table, row.data));
    }
  }

  /** Keep `record` unless our copy is as new already. */
  keepNewer<T extends Table>(table: T, record: RecordOf<T>): void {
    const copies = this.table(table);
    if ((copies.get(record.id)?.version ?? -1) < record.version) copies.set(record);
  }

  /** A row's record, checked: a row this bot did not write (or an older version's) may not fit. */
  parse<T extends Table>(table: T, data: unknown): RecordOf<T> {
    const parsed = SCHEMAS[table].safeParse(data);
    if (!parsed.success)
      throw new StoreError('STORE_CORRUPT', `a ${NOUNS[table]} in ${this.#description} is not valid: ${parsed.error.issues[0]?.message ?? 'unknown shape'}`);
    return parsed.data as RecordOf<T>;
  }

  /** Stop following changes. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#listener?.end().catch(() => undefined);
  }
}
