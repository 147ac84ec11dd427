/**
 * The store contract, run against both implementations: the embedded lowdb file and PostgreSQL
 * (a real server, started by the test). Then what only a shared database can show: two
 * processes' stores on one database see each other's changes and get one transition between them.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { CHANNEL } from '../../src/store/postgres/record-cache.js';
import { vmIdOf, type RequestRecord, type RunRecord, type VmRecord } from '../../src/store/records.js';
import { StoreError, type Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/core.js';
import { storeKinds, storeRefusal } from '../helpers/stores.js';
import { fullSpec } from '../helpers/full-spec.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { waitFor } from '../../src/demo/workspace.js';
import { readAuditRecords, verifyAuditLog, verifyChain, AUDIT_FILE } from '../../src/store/audit.js';
import { FileAuditLog } from '../../src/store/audit-file.js';
import { PostgresAuditLog, readPostgresAudit } from '../../src/store/postgres/audit.js';
import { join } from 'node:path';

const now = () => new Date().toISOString();
const run = (id: string, requestId?: string): RunRecord => ({
  id,
  version: 0,
  state: 'pending',
  createdAt: now(),
  updatedAt: now(),
  actor: 'U0REQUESTER',
  ...(requestId ? { requestId } : {}),
  spec: fullSpec(`vm-${id}`),
  steps: {},
  keys: {},
  poweredOn: false,
});
const request = (id: string, sourceViewId?: string): RequestRecord => ({
  kind: 'vm',
  id,
  version: 0,
  state: 'pending',
  createdAt: now(),
  updatedAt: now(),
  expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
  requester: 'U0REQUESTER',
  spec: fullSpec(`vm-${id.toLowerCase()}`),
  approvals: [],
  warnings: [],
  ...(sourceViewId ? { sourceViewId } : {}),
});

const vm = (runId: string, owner: string): VmRecord => ({
  kind: 'vm',
  id: vmIdOf(runId),
  version: 0,
  state: 'live',
  createdAt: now(),
  updatedAt: now(),
  name: `web-${runId}`,
  owner,
  runId,
  keys: { vmKey: '41' },
  spec: fullSpec(`web-${runId}`),
});

/**
 * A check-then-act that would race without `exclusive`: count the live requests, wait (as a
 * VergeOS call or an audit write would), then file one only if none was there.
 */
async function fileIfNone(store: Store, id: string): Promise<boolean> {
  return store.exclusive(async () => {
    if (store.countRequests('state', 'pending') > 0) return false;
    await new Promise((resolve) => setImmediate(resolve));
    await store.insertRequest(request(id));
    return true;
  });
}

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(() => postgres.stop());

const kinds = storeKinds(() => postgres);

describe.each(kinds)('the store contract: $name', (kind) => {
  it('exclusive: eight check-then-acts at once admit one; a failed one frees the section', async () => {
    const { store, cleanup } = await kind.open();
    try {
      const admitted = await Promise.all(Array.from({ length: 8 }, (_, i) => fileIfNone(store, `REQ-${i + 1}`)));
      expect(admitted.filter(Boolean)).toHaveLength(1);
      expect(store.listRequests()).toHaveLength(1);
      await expect(store.exclusive(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(await store.exclusive(async () => 'next')).toBe('next');
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('keeps requests and runs, hands out copies, numbers in sequence, and has it all after a reopen', async () => {
    const { store, reopen, cleanup } = await kind.open();
    try {
      expect(await store.nextNumber('request')).toBe(1);
      expect(await Promise.all(Array.from({ length: 10 }, () => store.nextNumber('request')))).toEqual(
        expect.arrayContaining([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
      );
      await store.insertRequest(request('REQ-1', 'V1'));
      await store.insertRuns([run('run-a', 'REQ-1'), run('run-b', 'REQ-1')]);
      const copy = store.getRun('run-a')!;
      copy.actor = 'changed in the copy';
      expect(store.getRun('run-a')!.actor).toBe('U0REQUESTER');
      expect(store.listRuns().map((r) => r.id)).toEqual(['run-a', 'run-b']);
      expect(store.listRuns((r) => r.id === 'run-b').map((r) => r.id)).toEqual(['run-b']);
      expect(store.listRequests().map((r) => r.id)).toEqual(['REQ-1']);
      const updated = await store.updateRun('run-a', { version: 0, states: ['pending'] }, (r) => {
        r.state = 'running';
      });
      expect(updated).toMatchObject({ version: 1, state: 'running' });
      await store.close();
      const again = await reopen();
      try {
        expect(again.getRun('run-a')).toMatchObject({ version: 1, state: 'running' });
        expect(again.getRequest('REQ-1')).toMatchObject({ sourceViewId: 'V1', version: 0 });
        expect(await again.nextNumber('request')).toBe(12);
        expect(again.health()).toEqual({ ok: true });
      } finally {
        await again.close();
      }
    } finally {
      await cleanup();
    }
  });

  it('every change is a compare-and-set: a stale version, a wrong state, two at once — one wins', async () => {
    const { store, cleanup } = await kind.open();
    try {
      await store.insertRequest(request('REQ-7', 'V7'));
      expect((await storeRefusal(store.insertRequest(request('REQ-7')))).code).toBe('STORE_CONFLICT');
      expect((await storeRefusal(store.updateRequest('REQ-8', {}, () => undefined))).code).toBe('STORE_NOT_FOUND');
      const results = await Promise.allSettled(
        ['U0LEAD1', 'U0LEAD2'].map((lead) =>
          store.updateRequest('REQ-7', { version: 0, states: ['pending'] }, (r) => {
            r.state = 'approved';
            r.decidedBy = lead;
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected').map((r) => (r.reason as StoreError).code)).toEqual(['STORE_CONFLICT']);
      expect(store.getRequest('REQ-7')).toMatchObject({ version: 1, state: 'approved' });
      const wrongState = await storeRefusal(store.updateRequest('REQ-7', { states: ['pending'] }, () => undefined));
      expect(wrongState.message).toBe('request REQ-7 is approved, not pending');
      // Changes that name no version apply to whatever is current, however many at once.
      await Promise.all([
        store.updateRequest('REQ-7', {}, (r) => void (r.permalink = 'https://example.test/p1')),
        store.updateRequest('REQ-7', { states: ['approved'] }, (r) => void (r.reason = 'noted')),
        store.updateRequest('REQ-7', {}, (r) => void r.warnings.push('w')),
      ]);
      expect(store.getRequest('REQ-7')).toMatchObject({ version: 4, permalink: 'https://example.test/p1', reason: 'noted', warnings: ['w'] });
    } finally {
      await store.close();
      await cleanup();
    }
  });
});

describe.each(kinds)('the store indexes: $name', (kind) => {
  it('finds runs and requests by request, batch, state, owner, requester and form, following every change, and after a reopen', async () => {
    const { store, reopen, cleanup } = await kind.open();
    try {
      await store.insertRequest(request('REQ-1', 'V1'));
      await store.insertRequest({ ...request('REQ-2', 'V2'), requester: 'U0OTHER' });
      await store.insertRuns([
        { ...run('run-a', 'REQ-1'), group: 'batch-x' },
        { ...run('run-b', 'REQ-1'), group: 'batch-x' },
        { ...run('run-c', 'REQ-2'), actor: 'U0OTHER' },
      ]);
      const ids = (rows: Array<{ id: string }>) => rows.map((r) => r.id);
      expect(ids(store.runsBy('requestId', 'REQ-1'))).toEqual(['run-a', 'run-b']);
      expect(ids(store.runsBy('group', 'batch-x'))).toEqual(['run-a', 'run-b']);
      expect(ids(store.runsBy('state', 'pending'))).toEqual(['run-a', 'run-b', 'run-c']);
      expect(ids(store.runsBy('owner', 'U0OTHER'))).toEqual(['run-c']);
      expect(store.runKeys('owner').sort()).toEqual(['U0OTHER', 'U0REQUESTER']);
      expect(ids(store.requestsBy('requester', 'U0REQUESTER'))).toEqual(['REQ-1']);
      expect(ids(store.requestsBy('sourceViewId', 'V2'))).toEqual(['REQ-2']);
      expect(ids(store.requestsBy('state', 'pending', (r) => r.requester === 'U0OTHER'))).toEqual(['REQ-2']);
      expect(store.countRequests('state', 'pending')).toBe(2);

      // A change moves a record between keys: a state, and a VM handed to someone else.
      await store.updateRun('run-b', { states: ['pending'] }, (r) => void (r.state = 'succeeded'));
      await store.updateRun('run-c', {}, (r) => void (r.owner = 'U0REQUESTER'));
      await store.updateRequest('REQ-1', { states: ['pending'] }, (r) => void (r.state = 'approved'));
      expect(ids(store.runsBy('state', 'pending'))).toEqual(['run-a', 'run-c']);
      expect(ids(store.runsBy('state', 'succeeded'))).toEqual(['run-b']);
      expect(ids(store.runsBy('owner', 'U0OTHER'))).toEqual([]);
      expect(ids(store.runsBy('owner', 'U0REQUESTER'))).toEqual(['run-a', 'run-b', 'run-c']);
      expect(store.countRequests('state', 'pending')).toBe(1);
      expect(store.countRequests('state', 'approved')).toBe(1);
      // Copies: changing one changes nothing stored, nor any index.
      store.runsBy('state', 'succeeded')[0]!.state = 'failed';
      expect(ids(store.runsBy('state', 'succeeded'))).toEqual(['run-b']);
      // `newest`: only the newest that many are copied.
      await store.insertRequest({ ...request('REQ-3'), createdAt: new Date(Date.now() + 1000).toISOString() });
      expect(ids(store.requestsBy('requester', 'U0REQUESTER', undefined, 1))).toEqual(['REQ-3']);
      await store.close();
      const again = await reopen();
      try {
        expect(ids(again.runsBy('state', 'pending'))).toEqual(['run-a', 'run-c']);
        expect(ids(again.runsBy('owner', 'U0REQUESTER'))).toEqual(['run-a', 'run-b', 'run-c']);
        expect(ids(again.requestsBy('sourceViewId', 'V1'))).toEqual(['REQ-1']);
        expect(again.countRequests('requester', 'U0REQUESTER')).toBe(2);
      } finally {
        await again.close();
      }
    } finally {
      await cleanup();
    }
  });
});

describe('two processes on one PostgreSQL', () => {
  it('exclusive holds across processes: one admitted of eight, whichever process each ran in', async () => {
    const url = await postgres.database();
    const a = await PostgresStore.open(url);
    const b = await PostgresStore.open(url);
    try {
      const admitted = await Promise.all(Array.from({ length: 8 }, (_, i) => fileIfNone(i % 2 ? a : b, `REQ-${i + 1}`)));
      expect(admitted.filter(Boolean)).toHaveLength(1);
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      try {
        expect((await db.query('SELECT count(*)::int AS n FROM requests')).rows).toEqual([{ n: 1 }]);
      } finally {
        await db.end();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('each sees the other’s changes; a decision made on a stale copy loses and the copy is refreshed; a form filed twice is one request', async () => {
    const url = await postgres.database();
    const a = await PostgresStore.open(url);
    const b = await PostgresStore.open(url);
    try {
      await a.insertRequest(request('REQ-1', 'VIEW-1'));
      await waitFor(() => b.getRequest('REQ-1'), 'B sees the request');
      // Both decide from version 0: the database lets one through.
      const [first, second] = await Promise.allSettled([
        a.updateRequest('REQ-1', { version: 0, states: ['pending'] }, (r) => {
          r.state = 'approved';
          r.decidedBy = 'U0LEAD1';
        }),
        b.updateRequest('REQ-1', { version: 0, states: ['pending'] }, (r) => {
          r.state = 'rejected';
          r.decidedBy = 'U0LEAD2';
        }),
      ]);
      expect([first.status, second.status].sort()).toEqual(['fulfilled', 'rejected']);
      const winner = first.status === 'fulfilled' ? 'approved' : 'rejected';
      await waitFor(() => a.getRequest('REQ-1')?.state === winner && b.getRequest('REQ-1')?.state === winner, 'both copies agree');
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      try {
        expect((await db.query('SELECT state, version FROM requests WHERE id = $1', ['REQ-1'])).rows).toEqual([{ state: winner, version: 1 }]);
      } finally {
        await db.end();
      }
      // The same form delivered to both: one request.
      expect((await storeRefusal(b.insertRequest(request('REQ-2', 'VIEW-1')))).code).toBe('STORE_CONFLICT');
      // Numbers are unique across processes.
      const numbers = await Promise.all([
        ...Array.from({ length: 5 }, () => a.nextNumber('request')),
        ...Array.from({ length: 5 }, () => b.nextNumber('request')),
      ]);
      expect(new Set(numbers).size).toBe(10);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a VM record one process inserts or changes is the other’s after catchUp; a change made on a stale copy loses', async () => {
    const url = await postgres.database();
    const [a, b] = await Promise.all([PostgresStore.open(url), PostgresStore.open(url)]);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      await a.insertVm(vm('run-web', 'U0ALICE'));
      await b.catchUp('vms', 'vm-web');
      expect(b.getVm('vm-web')).toMatchObject({ version: 0, owner: 'U0ALICE', runId: 'run-web' });
      expect(b.vmsBy('runId', 'run-web').map((v) => v.id)).toEqual(['vm-web']);
      // The same VM from the other process: one run, one VM.
      expect((await storeRefusal(b.insertVm(vm('run-web', 'U0BOB')))).code).toBe('STORE_CONFLICT');

      const handed = await a.updateVm('vm-web', { version: 0, states: ['live'] }, (v) => void (v.owner = 'U0BOB'));
      expect(handed).toMatchObject({ version: 1, owner: 'U0BOB' });
      // B decides on version 0 (a click on a message from before the hand-over): it loses, whether
      // its copy had caught up yet or not, and nothing of it is written.
      const stale = await storeRefusal(b.updateVm('vm-web', { version: 0, states: ['live'] }, (v) => void (v.state = 'deleting')));
      expect(stale.code).toBe('STORE_CONFLICT');
      expect(stale.message).toMatch(/^VM vm-web changed meanwhile \(/);
      await b.catchUp('vms', 'vm-web');
      expect(b.getVm('vm-web')).toMatchObject({ version: 1, owner: 'U0BOB', state: 'live' });
      expect(b.vmsBy('owner', 'U0BOB').map((v) => v.id)).toEqual(['vm-web']);
      expect(b.vmsBy('owner', 'U0ALICE')).toEqual([]);
      // A change naming no version applies to what is current.
      expect(await b.updateVm('vm-web', { states: ['live'] }, (v) => void (v.state = 'deleting'))).toMatchObject({ version: 2, owner: 'U0BOB' });
      await a.catchUp('vms', 'vm-web');
      expect(a.getVm('vm-web')).toMatchObject({ version: 2, state: 'deleting', owner: 'U0BOB' });
      // The row's columns (what its indexes are on) follow the record.
      expect((await db.query('SELECT version, state, owner, run_id FROM vms')).rows).toEqual([
        { version: 2, state: 'deleting', owner: 'U0BOB', run_id: 'run-web' },
      ]);
    } finally {
      await db.end();
      await a.close();
      await b.close();
    }
  });

  it('migrations run once, however many processes start; claims keep a run to one process until they lapse; one process leads the sweeps', async () => {
    const url = await postgres.database();
    const [a, b] = await Promise.all([PostgresStore.open(url), PostgresStore.open(url)]);
    try {
      await a.insertRuns([run('run-c'), run('run-d')]);
      await waitFor(() => b.getRun('run-d'), 'B sees the runs');
      expect(await a.claimRun('run-c', 'A', 60_000)).toBe(true);
      expect(await b.claimRun('run-c', 'B', 60_000)).toBe(false);
      expect(await a.claimRun('run-c', 'A', 60_000)).toBe(true); // its own again
      expect((await b.orphanedRuns()).map((r) => r.id)).toEqual(['run-d']);
      // A claim that lapses (its process stopped renewing) is free for another.
      expect(await a.claimRun('run-d', 'A', 50)).toBe(true);
      await new Promise((r) => setTimeout(r, 120));
      expect((await b.orphanedRuns()).map((r) => r.id)).toEqual(['run-d']);
      expect(await b.claimRun('run-d', 'B', 60_000)).toBe(true);
      await a.renewClaims('A', ['run-c', 'run-d'], 60_000); // renews only its own
      expect(await a.claimRun('run-d', 'A', 60_000)).toBe(false);
      await b.releaseRun('run-d', 'B');
      expect(await a.claimRun('run-d', 'A', 60_000)).toBe(true);
      expect([await a.leads(), await b.leads()]).toEqual([true, false]);
    } finally {
      await a.close();
    }
    // The leader gone, another takes over.
    expect(await b.leads()).toBe(true);
    await b.close();
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      expect((await db.query('SELECT version, name FROM schema_migrations ORDER BY version')).rows).toEqual([
        { version: 1, name: 'requests, runs, numbering, audit' },
        { version: 2, name: 'run claims' },
        { version: 3, name: 'vm records' },
      ]);
    } finally {
      await db.end();
    }
  });
});

describe('the change feed', () => {
  it('a dropped LISTEN connection makes the store not ready, is reconnected, and what changed meanwhile is read', async () => {
    const url = await postgres.database();
    const [a, b] = await Promise.all([PostgresStore.open(url), PostgresStore.open(url)]);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      expect(await b.ping()).toEqual({ ok: true });
      // Cut every LISTEN connection (as a network blip or a database restart would).
      await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()`);
      await waitFor(() => b.health().ok === false, 'B notices');
      expect((await b.ping()) as { problem?: string }).toMatchObject({ ok: false, problem: expect.stringMatching(/^lost the database's change feed/) });
      await a.insertRequest(request('REQ-1', 'V-feed'));
      await waitFor(() => b.getRequest('REQ-1'), 'B reads what it missed', 10_000);
      expect(await b.ping()).toEqual({ ok: true });
    } finally {
      await db.end();
      await a.close();
      await b.close();
    }
  });
});

describe('the change feed, across versions', () => {
  it('a note about a table this version does not keep (a newer process’s) is passed over, and the feed goes on', async () => {
    const url = await postgres.database();
    const [a, b] = await Promise.all([PostgresStore.open(url), PostgresStore.open(url)]);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      await db.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ t: 'disks', id: 'disk-1', v: 3 })]);
      await a.insertVm(vm('run-after', 'U0ALICE'));
      await waitFor(() => b.getVm('vm-after'), 'B follows the next change');
      expect(b.health()).toEqual({ ok: true });
    } finally {
      await db.end();
      await a.close();
      await b.close();
    }
  });
});

describe('the audit log on PostgreSQL', () => {
  it('stays one hash chain with appends from two processes at once, and verify finds an edited row', async () => {
    const url = await postgres.database();
    const store = await PostgresStore.open(url); // migrates
    const a = PostgresAuditLog.open(url);
    const b = PostgresAuditLog.open(url);
    try {
      const appended = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).append({ actor: `U${i}`, action: 'request.created', outcome: 'ok', detail: `event ${i}` })),
      );
      expect(new Set(appended.map((r) => r.seq)).size).toBe(40);
      expect(await verifyChain(readPostgresAudit(url))).toEqual({ ok: true, records: 40 });
      // Within one process, records keep the order of the calls.
      const fromA = appended.filter((_, i) => i % 2).map((r) => r.seq);
      expect(fromA).toEqual([...fromA].sort((x, y) => x - y));

      const db = new pg.Client({ connectionString: url });
      await db.connect();
      try {
        await db.query(`UPDATE audit SET record = jsonb_set(record, '{detail}', '"edited"') WHERE seq = 17`);
      } finally {
        await db.end();
      }
      expect(await verifyChain(readPostgresAudit(url))).toEqual({
        ok: false,
        records: 16,
        line: 17,
        problem: 'its contents were changed after it was written',
      });
    } finally {
      await a.close();
      await b.close();
      await store.close();
    }
  });

  it('the file log and the PostgreSQL log number and chain the same way', async () => {
    const { dir, remove } = await tempDir();
    const url = await postgres.database();
    const store = await PostgresStore.open(url);
    const file = await FileAuditLog.open(dir);
    const db = PostgresAuditLog.open(url);
    try {
      for (const log of [file, db])
        for (const action of ['run.started', 'run.succeeded']) await log.append({ actor: 'vmbot', action, runId: 'run-x', outcome: 'ok' });
      expect(await verifyAuditLog(join(dir, AUDIT_FILE))).toEqual({ ok: true, records: 2 });
      expect(await verifyChain(readPostgresAudit(url))).toEqual({ ok: true, records: 2 });
      const fromFile: string[] = [];
      for await (const r of readAuditRecords(join(dir, AUDIT_FILE))) fromFile.push(`${r.seq} ${r.action} ${r.seq === 1 ? r.prev.slice(0, 8) : 'chained'}`);
      const fromDb: string[] = [];
      for await (const r of readPostgresAudit(url))
        fromDb.push(
          `${(r as { seq: number }).seq} ${(r as { action: string }).action} ${(r as { seq: number }).seq === 1 ? (r as { prev: string }).prev.slice(0, 8) : 'chained'}`,
        );
      expect(fromDb).toEqual(fromFile);
    } finally {
      await file.close();
      await db.close();
      await store.close();
      await remove();
    }
  });
});
