/**
 * The VM record contract, run against both stores: the embedded lowdb file and PostgreSQL (a real
 * server, started by the test). A VM record is kept apart from the run that made it; it is found by
 * owner, state and run as it changes hands and is deleted, every change is a compare-and-set, and
 * what is handed out is a copy; `vmbot store migrate` carries them (archived ones too) into PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditLog } from '../../src/store/audit-file.js';
import { LowdbStore } from '../../src/store/lowdb.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { vmIdOf, type VmRecord } from '../../src/store/records.js';
import { StoreError } from '../../src/store/store.js';
import { tempDir } from '../helpers/core.js';
import { storeKinds, storeRefusal } from '../helpers/stores.js';
import { fullSpec } from '../helpers/full-spec.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { runVmbot } from '../helpers/cli.js';

/** Fixed times, a minute apart: listings are oldest first. */
const at = (minute: number): string => new Date(Date.UTC(2026, 0, 1, 9, minute)).toISOString();

const vm = (runId: string, owner: string, minute: number): VmRecord => ({
  kind: 'vm',
  id: vmIdOf(runId),
  version: 0,
  state: 'live',
  createdAt: at(minute),
  updatedAt: at(minute),
  name: `web-${minute}`,
  owner,
  runId,
  requestId: 'REQ-1',
  keys: { vmKey: `${100 + minute}`, machineKey: `${200 + minute}` },
  spec: fullSpec(`web-${minute}`),
  lease: { forMs: 86_400_000, endsAt: at(minute + 60), reminded: [], outbox: [] },
});

const ids = (rows: Array<{ id: string }>) => rows.map((r) => r.id);

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(() => postgres.stop());

const kinds = storeKinds(() => postgres);

describe.each(kinds)('the VM record contract: $name', (kind) => {
  it('keeps VM records, finds them by owner, state and run as they change hands and are deleted, and has them after a reopen', async () => {
    const { store, reopen, cleanup } = await kind.open();
    try {
      await store.insertVm(vm('run-c', 'U0BOB', 3));
      await store.insertVm(vm('run-a', 'U0ALICE', 1));
      await store.insertVm(vm('run-b', 'U0ALICE', 2));
      expect(store.getVm('vm-a')).toEqual(vm('run-a', 'U0ALICE', 1));
      expect(store.getVm('vm-z')).toBeUndefined();
      expect(ids(store.listVms())).toEqual(['vm-a', 'vm-b', 'vm-c']);
      expect(ids(store.listVms((v) => v.keys.vmKey === '102'))).toEqual(['vm-b']);
      expect(ids(store.vmsBy('owner', 'U0ALICE'))).toEqual(['vm-a', 'vm-b']);
      expect(ids(store.vmsBy('owner', 'U0BOB'))).toEqual(['vm-c']);
      expect(ids(store.vmsBy('state', 'live'))).toEqual(['vm-a', 'vm-b', 'vm-c']);
      expect(ids(store.vmsBy('runId', 'run-b'))).toEqual(['vm-b']);
      expect(ids(store.vmsBy('state', 'live', (v) => v.owner === 'U0BOB'))).toEqual(['vm-c']);
      expect(store.vmKeys('owner').sort()).toEqual(['U0ALICE', 'U0BOB']);
      expect(store.vmKeys('runId').sort()).toEqual(['run-a', 'run-b', 'run-c']);

      // Handed on: the VM moves to its new owner's key, and the old owner has none left.
      const handed = await store.updateVm('vm-c', { version: 0, states: ['live'] }, (v) => void (v.owner = 'U0ALICE'));
      expect(handed).toMatchObject({ id: 'vm-c', version: 1, owner: 'U0ALICE', state: 'live' });
      expect(ids(store.vmsBy('owner', 'U0ALICE'))).toEqual(['vm-a', 'vm-b', 'vm-c']);
      expect(store.vmsBy('owner', 'U0BOB')).toEqual([]);
      expect(store.vmKeys('owner')).toEqual(['U0ALICE']);

      // Deleted: live, then deleting (claimed), then deleted.
      await store.updateVm('vm-a', { version: 0, states: ['live'] }, (v) => {
        v.state = 'deleting';
        v.deleting = { by: 'U0ALICE', at: at(30) };
      });
      expect(ids(store.vmsBy('state', 'live'))).toEqual(['vm-b', 'vm-c']);
      expect(ids(store.vmsBy('state', 'deleting'))).toEqual(['vm-a']);
      const deleted = await store.updateVm('vm-a', { version: 1, states: ['deleting'] }, (v) => {
        v.state = 'deleted';
        v.deletedAt = at(31);
        delete v.deleting;
      });
      expect(deleted).toMatchObject({ version: 2, state: 'deleted', deletedAt: at(31) });
      expect(deleted.deleting).toBeUndefined();
      expect(store.vmsBy('state', 'deleting')).toEqual([]);
      expect(ids(store.vmsBy('state', 'deleted'))).toEqual(['vm-a']);
      expect(store.vmKeys('state').sort()).toEqual(['deleted', 'live']);
      // Still found by its run and its owner: a deleted VM's record is kept.
      expect(ids(store.vmsBy('runId', 'run-a'))).toEqual(['vm-a']);

      const before = { a: store.getVm('vm-a')!, b: store.getVm('vm-b')!, c: store.getVm('vm-c')! };
      await store.close();
      const again = await reopen();
      try {
        expect(again.getVm('vm-a')).toEqual(before.a);
        expect(again.getVm('vm-b')).toEqual(before.b);
        expect(again.getVm('vm-c')).toEqual(before.c);
        expect(ids(again.listVms())).toEqual(['vm-a', 'vm-b', 'vm-c']);
        expect(ids(again.vmsBy('owner', 'U0ALICE'))).toEqual(['vm-a', 'vm-b', 'vm-c']);
        expect(again.vmsBy('owner', 'U0BOB')).toEqual([]);
        expect(ids(again.vmsBy('state', 'live'))).toEqual(['vm-b', 'vm-c']);
        expect(ids(again.vmsBy('state', 'deleted'))).toEqual(['vm-a']);
        expect(ids(again.vmsBy('runId', 'run-c'))).toEqual(['vm-c']);
        // Changes go on from the versions kept.
        expect(await again.updateVm('vm-c', { version: 1 }, (v) => void (v.state = 'gone'))).toMatchObject({ version: 2, state: 'gone' });
      } finally {
        await again.close();
      }
    } finally {
      await cleanup();
    }
  });

  it('every change to a VM record is a compare-and-set: a stale version, a wrong state, an unknown VM, a second insert; eight at once — one wins', async () => {
    const { store, cleanup } = await kind.open();
    try {
      await store.insertVm(vm('run-a', 'U0ALICE', 1));
      const twin = await storeRefusal(store.insertVm({ ...vm('run-a', 'U0BOB', 5) }));
      expect([twin.code, twin.message]).toEqual(['STORE_CONFLICT', 'VM vm-a already exists']);
      expect(store.getVm('vm-a')).toMatchObject({ owner: 'U0ALICE', version: 0 });

      const unknown = await storeRefusal(store.updateVm('vm-nothing', {}, () => undefined));
      expect([unknown.code, unknown.message]).toEqual(['STORE_NOT_FOUND', 'no VM vm-nothing']);

      await store.updateVm('vm-a', { version: 0 }, (v) => void (v.keys.machineKey = '999'));
      const stale = await storeRefusal(store.updateVm('vm-a', { version: 0 }, (v) => void (v.owner = 'U0BOB')));
      expect([stale.code, stale.message]).toEqual(['STORE_CONFLICT', 'VM vm-a changed meanwhile (version 1, expected 0)']);
      await store.updateVm('vm-a', { states: ['live'] }, (v) => void (v.state = 'deleting'));
      const wrongState = await storeRefusal(store.updateVm('vm-a', { states: ['live'] }, (v) => void (v.owner = 'U0BOB')));
      expect([wrongState.code, wrongState.message]).toEqual(['STORE_CONFLICT', 'VM vm-a is deleting, not live']);
      expect(store.getVm('vm-a')).toMatchObject({ version: 2, state: 'deleting', owner: 'U0ALICE', keys: { machineKey: '999' } });

      // Eight updates from version 2 at once (eight clicks): one applies, the others conflict.
      const takers = Array.from({ length: 8 }, (_, i) => `U0TAKER${i}`);
      const results = await Promise.allSettled(takers.map((taker) => store.updateVm('vm-a', { version: 2 }, (v) => void (v.owner = taker))));
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(won).toHaveLength(1);
      const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as StoreError] : []));
      expect(lost.map((e) => e.code)).toEqual(Array.from({ length: 7 }, () => 'STORE_CONFLICT'));
      for (const e of lost) expect(e.message).toMatch(/^VM vm-a changed meanwhile \(/);
      expect(won[0]).toMatchObject({ version: 3 });
      expect(store.getVm('vm-a')).toMatchObject({ version: 3, owner: won[0]!.owner });
      expect(takers).toContain(won[0]!.owner);
      expect(ids(store.vmsBy('owner', won[0]!.owner))).toEqual(['vm-a']);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('hands out copies: changing what was inserted, read or returned changes nothing stored, nor any index', async () => {
    const { store, cleanup } = await kind.open();
    try {
      const inserted = vm('run-a', 'U0ALICE', 1);
      await store.insertVm(inserted);
      inserted.owner = 'U0MALLORY';
      inserted.spec.vm.name = 'changed';
      store.getVm('vm-a')!.keys.vmKey = 'changed';
      store.listVms()[0]!.state = 'gone';
      store.vmsBy('owner', 'U0ALICE')[0]!.owner = 'U0MALLORY';
      const returned = await store.updateVm('vm-a', { version: 0 }, (v) => void (v.name = 'renamed'));
      returned.lease!.endsAt = at(59);
      returned.state = 'deleted';
      let draft: VmRecord | undefined;
      await store.updateVm('vm-a', { version: 1 }, (v) => void (draft = v));
      draft!.owner = 'U0MALLORY';

      expect(store.getVm('vm-a')).toEqual({ ...vm('run-a', 'U0ALICE', 1), name: 'renamed', version: 2, updatedAt: store.getVm('vm-a')!.updatedAt });
      expect(ids(store.vmsBy('owner', 'U0ALICE'))).toEqual(['vm-a']);
      expect(store.vmsBy('owner', 'U0MALLORY')).toEqual([]);
      expect(ids(store.vmsBy('state', 'live'))).toEqual(['vm-a']);
      expect(store.vmKeys('state')).toEqual(['live']);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('has no archived VM records to read back from a fresh store', async () => {
    const { store, cleanup } = await kind.open();
    try {
      await store.insertVm(vm('run-a', 'U0ALICE', 1));
      expect(await store.readArchived('vms')).toEqual([]);
    } finally {
      await store.close();
      await cleanup();
    }
  });
});

describe('vmbot store migrate', () => {
  it('copies the embedded store’s VM records into PostgreSQL, archived ones too, and counts them', async () => {
    const { dir, remove } = await tempDir();
    const url = await postgres.database();
    try {
      const source = await LowdbStore.open(dir);
      // Deleted long ago with no run left beside it: archived. The other two are in the working set.
      const old = { ...vm('run-old', 'U0BOB', 1), state: 'deleted' as const, deletedAt: at(2) };
      await source.insertVm(old);
      expect(await source.archiveOld()).toBe(1);
      expect(source.getVm('vm-old')).toBeUndefined();
      await source.insertVm(vm('run-a', 'U0ALICE', 3));
      await source.insertVm(vm('run-b', 'U0ALICE', 4));
      const handed = await source.updateVm('vm-b', { version: 0 }, (v) => void (v.owner = 'U0BOB'));
      await source.close();
      const audit = await FileAuditLog.open(dir);
      await audit.append({ actor: 'vmbot', action: 'run.succeeded', runId: 'run-a', outcome: 'ok' });
      await audit.close();

      const migrated = await runVmbot(['store', 'migrate', '--from', dir, '--to', url], {});
      expect(migrated.stderr).toBe('');
      expect(migrated.stdout).toMatch(/^Copied 0 requests, 0 runs, 3 VMs and 1 audit records from /);
      expect(migrated.code).toBe(0);

      const copy = await PostgresStore.open(url);
      try {
        expect(copy.getVm('vm-old')).toEqual(old);
        expect(copy.getVm('vm-a')).toEqual(vm('run-a', 'U0ALICE', 3));
        expect(copy.getVm('vm-b')).toEqual(handed);
        expect(ids(copy.listVms())).toEqual(['vm-old', 'vm-a', 'vm-b']);
        expect(ids(copy.vmsBy('owner', 'U0BOB'))).toEqual(['vm-old', 'vm-b']);
        expect(ids(copy.vmsBy('state', 'live'))).toEqual(['vm-a', 'vm-b']);
        // Changes go on from the versions copied.
        expect(await copy.updateVm('vm-b', { version: 1, states: ['live'] }, (v) => void (v.state = 'deleting'))).toMatchObject({ version: 2 });
      } finally {
        await copy.close();
      }
    } finally {
      await remove();
    }
  }, 60_000);
});
