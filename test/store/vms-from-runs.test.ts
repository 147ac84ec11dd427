/**
 * A store from before VMs had records of their own: each VM it knows only as a run gets its record
 * at open, once, from what the run says (owner handed on, the lease as it runs, gone or being
 * deleted) — on the embedded store (a read-only copy too) and on PostgreSQL.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LowdbStore, STORE_FILE } from '../../src/store/lowdb.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { vmIdOf, type RunRecord } from '../../src/store/records.js';
import { configurationOf } from '../../src/store/vms-from-runs.js';
import { tempDir } from '../helpers/core.js';
import { fullSpec } from '../helpers/full-spec.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

const at = '2026-01-02T03:04:05.000Z';
const lease = { forMs: 604_800_000, maxMs: 2_592_000_000, endsAt: '2026-01-09T03:04:05.000Z', reminded: [259_200_000], outbox: [] };

/** Runs as an older version wrote them: the VM's owner, lease and gone mark on the run. */
function olderRuns(): RunRecord[] {
  const run = (id: string, extra: Partial<RunRecord>): RunRecord => ({
    id,
    version: 3,
    state: 'succeeded',
    createdAt: at,
    updatedAt: at,
    actor: 'U0ALICE',
    spec: fullSpec(`old-${id.slice(4)}`),
    steps: { create_vm: { status: 'done', key: '7', attempts: 1 } },
    keys: { vmKey: `7${id.slice(-1)}`, machineKey: `9${id.slice(-1)}` },
    poweredOn: true,
    ...extra,
  });
  return [
    run('run-a1', { owner: 'U0BOB', lease, requestId: 'REQ-1' }),
    run('run-a2', { goneAt: at }),
    run('run-a3', { state: 'cleaning_up', decommission: { by: 'lease', at } }),
    run('run-a4', { state: 'decommissioned' }),
    run('run-a5', { state: 'failed', keys: { vmKey: '75' } }),
  ];
}

function expectBackfilled(store: Pick<LowdbStore, 'getVm' | 'listVms'>): void {
  expect(
    store
      .listVms()
      .map((v) => [v.runId, v.state])
      .sort(),
  ).toEqual([
    ['run-a1', 'live'],
    ['run-a2', 'gone'],
    ['run-a3', 'deleting'],
  ]);
  expect(store.getVm(vmIdOf('run-a1'))).toMatchObject({
    kind: 'vm',
    version: 0,
    owner: 'U0BOB',
    name: 'old-a1',
    requestId: 'REQ-1',
    keys: { vmKey: '71', machineKey: '91' },
    lease,
    createdAt: at,
  });
  expect(store.getVm(vmIdOf('run-a2'))).toMatchObject({ owner: 'U0ALICE', goneAt: at });
  expect(store.getVm(vmIdOf('run-a3'))).toMatchObject({ deleting: { by: 'lease', at } });
}

describe('a VM record keeps its configuration, not what was read once at first boot', () => {
  it('drops the cloud-init files (the run keeps them) and keeps the rest as approved', () => {
    const spec = fullSpec('ci-01');
    const withFiles = {
      ...spec,
      vm: { ...spec.vm, cloudinit_datasource: 'nocloud' as const, cloudinit_files: [{ name: 'user-data', contents: '#cloud-config\npassword: hunter2\n' }] },
    };
    const kept = configurationOf(withFiles);
    expect(kept.vm).not.toHaveProperty('cloudinit_files');
    expect(kept).toEqual({ ...spec, vm: { ...spec.vm, cloudinit_datasource: 'nocloud' } });
    expect(withFiles.vm.cloudinit_files).toHaveLength(1);
  });
});

describe('VM records for a store from before them', () => {
  it('the embedded store makes them at open, once; a read-only copy lists the same without writing', async () => {
    const { dir, remove } = await tempDir();
    try {
      await writeFile(join(dir, STORE_FILE), JSON.stringify({ version: 1, journal: 0, runs: olderRuns(), requests: [], counters: {} }));
      const reader = await LowdbStore.open(dir, { readOnly: true });
      expectBackfilled(reader);
      await reader.close();
      const store = await LowdbStore.open(dir);
      expectBackfilled(store);
      expect(store.notes).toContain('3 VM record(s) made from the runs that made them (a store from before VMs had records)');
      await store.close();
      const again = await LowdbStore.open(dir);
      expectBackfilled(again);
      expect(again.notes.filter((n) => n.includes('VM record'))).toEqual([]);
      await again.close();
    } finally {
      await remove();
    }
  });

  describe('PostgreSQL', () => {
    let postgres: TestPostgres;
    beforeAll(async () => {
      postgres = await startPostgres();
    }, 120_000);
    afterAll(() => postgres?.stop());

    it('makes them at open, once, whichever process opens first', async () => {
      const url = await postgres.database();
      const first = await PostgresStore.open(url);
      await first.insertRuns(olderRuns());
      await first.close();
      // As an older version left it: runs, no VM records.
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('DELETE FROM vms');
      await client.end();
      const [a, b] = await Promise.all([PostgresStore.open(url), PostgresStore.open(url)]);
      try {
        // Each made some of them (the other's insert of the same one lost): each reads the rest.
        for (const store of [a, b]) for (const run of ['run-a1', 'run-a2', 'run-a3']) await store.catchUp('vms', vmIdOf(run));
        expectBackfilled(a);
        expectBackfilled(b);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
