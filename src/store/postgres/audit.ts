/**
 * The audit log in PostgreSQL: still one hash chain, however many processes append. Each append
 * takes a transaction-scoped advisory lock, reads the chain's head and inserts the next record, so
 * the database serializes appends; within a process they are queued so records keep the order of
 * the events. Verify and export read it back in seq order.
 */
import pg from 'pg';
import { chainRecord, type AuditEvent, type AuditLog, type AuditRecord } from '../audit.js';

const AUDIT_LOCK = 7_240_103;

export class PostgresAuditLog implements AuditLog {
  readonly #pool: pg.Pool;
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** The audit table comes with the store's migrations: open the store first. */
  static open(url: string): PostgresAuditLog {
    return new PostgresAuditLog(new pg.Pool({ connectionString: url, max: 2 }));
  }

  append(event: AuditEvent): Promise<AuditRecord> {
    const next = this.#tail.then(() => this.#append(event));
    this.#tail = next.catch(() => undefined);
    return next;
  }

  async #append(event: AuditEvent): Promise<AuditRecord> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
      const { rows } = await client.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
      const head = rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : undefined;
      const record = chainRecord(event, head);
      await client.query('INSERT INTO audit (seq, hash, record) VALUES ($1, $2, $3)', [record.seq, record.hash, record]);
      await client.query('COMMIT');
      return record;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.#tail;
    await this.#pool.end();
  }
}

/** Every record in seq order, a page at a time (for verify and export). */
export async function* readPostgresAudit(url: string, since?: Date): AsyncGenerator<unknown> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    yield* readAuditRows(client, since);
  } finally {
    await client.end();
  }
}

/** The same, on a connection already open (a migration reads back what its transaction wrote). */
export async function* readAuditRows(client: pg.ClientBase, since?: Date): AsyncGenerator<unknown> {
  for (let after = 0; ;) {
    const { rows } = await client.query<{ seq: string; record: unknown }>('SELECT seq, record FROM audit WHERE seq > $1 ORDER BY seq LIMIT 1000', [after]);
    if (!rows.length) return;
    for (const row of rows) {
      const at = (row.record as { at?: string }).at;
      if (!since || (at !== undefined && new Date(at) >= since)) yield row.record;
    }
    after = Number(rows.at(-1)!.seq);
  }
}
