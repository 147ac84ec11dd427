/**
 * Copy an embedded (lowdb) store into an empty PostgreSQL database: requests, runs and VM records
 * (the working set and the archive), the REQ-n counter, and the audit log with its hashes as they
 * are, so the chain verifies afterwards. One transaction: all or nothing, and the copied chain is
 * verified inside it, so a copy that does not verify is rolled back rather than left behind.
 */
import pg from 'pg';
import { verifyChain, type AuditRecord } from '../audit.js';
import type { RequestRecord, RunRecord, VmRecord } from '../records.js';
import { StoreError } from '../store.js';
import { readAuditRows } from './audit.js';
import { migrate } from './migrate.js';
import { describeUrl } from './store.js';

export interface ImportInput {
  requests: RequestRecord[];
  runs: RunRecord[];
  vms: VmRecord[];
  /** Highest REQ-n handed out so far. */
  requestNumber: number;
  audit: AsyncIterable<AuditRecord>;
}

export async function importIntoPostgres(url: string, input: ImportInput): Promise<{ requests: number; runs: number; vms: number; audit: number }> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await migrate(pool);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      // Held until COMMIT: a second migrate (or a bot started too early) waits, then finds these rows.
      await client.query('LOCK TABLE requests, runs, vms, audit IN SHARE ROW EXCLUSIVE MODE');
      const { rows } = await client.query<{ n: string }>(
        'SELECT (SELECT count(*) FROM requests) + (SELECT count(*) FROM runs) + (SELECT count(*) FROM vms) + (SELECT count(*) FROM audit) AS n',
      );
      if (Number(rows[0]!.n) > 0) throw new StoreError('STORE_CONFLICT', `${describeUrl(url)} already holds records; migrate into an empty database`);
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
      for (const v of input.vms) {
        await client.query('INSERT INTO vms (id, version, state, owner, run_id, data, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
          v.id,
          v.version,
          v.state,
          v.owner,
          v.runId,
          v,
          v.createdAt,
          v.updatedAt,
        ]);
      }
      for await (const record of input.audit) {
        await client.query('INSERT INTO audit (seq, hash, record) VALUES ($1, $2, $3)', [record.seq, record.hash, record]);
      }
      // Read back as the bot will read it (through jsonb), before anything is committed.
      const chain = await verifyChain(readAuditRows(client));
      if (!chain.ok)
        throw new StoreError(
          'STORE_CORRUPT',
          `the audit chain copied into ${describeUrl(url)} does not verify at seq ${chain.line}: ${chain.problem}; the copy was rolled back`,
        );
      // Last: ROLLBACK does not undo a sequence's setval, so a copy that fails leaves REQ numbering alone.
      if (input.requestNumber > 0) await client.query(`SELECT setval('vmbot_seq_request', $1)`, [input.requestNumber]);
      await client.query('COMMIT');
      return { requests: input.requests.length, runs: input.runs.length, vms: input.vms.length, audit: chain.records };
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
