/**
 * Copy an embedded (lowdb) store into an empty PostgreSQL database: requests, runs (the working
 * set and the archive), the REQ-n counter, and the audit log with its hashes as they are, so the
 * chain verifies afterwards. One transaction: all or nothing.
 */
import pg from 'pg';
import type { AuditRecord } from '../audit.js';
import type { RequestRecord, RunRecord } from '../records.js';
import { StoreError } from '../store.js';
import { describeUrl, migrate } from './store.js';

export interface ImportInput {
  requests: RequestRecord[];
  runs: RunRecord[];
  /** Highest REQ-n handed out so far. */
  requestNumber: number;
  audit: AsyncIterable<AuditRecord>;
}

export async function importIntoPostgres(url: string, input: ImportInput): Promise<{ requests: number; runs: number; audit: number }> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await migrate(pool);
    const client = await pool.connect();
    try {
      const { rows } = await client.query<{ n: string }>(
        'SELECT (SELECT count(*) FROM requests) + (SELECT count(*) FROM runs) + (SELECT count(*) FROM audit) AS n',
      );
      if (Number(rows[0]!.n) > 0) throw new StoreError('STORE_CONFLICT', `${describeUrl(url)} already holds records; migrate into an empty database`);
      await client.query('BEGIN');
      for (const r of input.requests) {
        await client.query(
          'INSERT INTO requests (id, version, state, requester, source_view_id, data, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [r.id, r.version, r.state, r.requester, r.sourceViewId ?? null, r, r.createdAt, r.updatedAt],
        );
      }
      for (const r of input.runs) {
        await client.query('INSERT INTO runs (id, version, state, request_id, data, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', [
          r.id,
          r.version,
          r.state,
          r.requestId ?? null,
          r,
          r.updatedAt,
        ]);
      }
      if (input.requestNumber > 0) await client.query(`SELECT setval('vmbot_seq_request', $1)`, [input.requestNumber]);
      let audit = 0;
      for await (const record of input.audit) {
        await client.query('INSERT INTO audit (seq, hash, record) VALUES ($1, $2, $3)', [record.seq, record.hash, record]);
        audit++;
      }
      await client.query('COMMIT');
      return { requests: input.requests.length, runs: input.runs.length, audit };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}
