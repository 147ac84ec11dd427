/**
 * VM records in the embedded store: written by compare-and-set like runs and requests, journaled
 * and durable, found by their indexes, read back from the journal and the snapshot (also one
 * written before VM records), archived once ended, and cut off like any record when an append
 * was torn.
 */
import { createHash } from 'node:crypto';
import { appendFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalsIn, recordLine, trustedRecord } from '../../src/store/journal.js';
import { LowdbStore } from '../../src/store/lowdb.js';
import type { RequestRecord, RunRecord, VmRecord } from '../../src/store/records.js';
import { fullSpec } from '../helpers/full-spec.js';
import { cleanupsAfterEach } from '../helpers/stores.js';

const { defer, dataDir } = cleanupsAfterEach();

/** A store in a fresh directory, closed after the test. */
async function openStore(dir: string, options: Parameters<typeof LowdbStore.open>[1] = {}): Promise<LowdbStore> {
  const store = await LowdbStore.open(dir, options);
  defer(() => store.close());
  return store;
}

const NOW = new Date().toISOString();
const LONG_AGO = new Date(Date.now() - 40 * 86_400_000).toISOString();

function vm(runId: string, fields: Partial<VmRecord> = {}): VmRecord {
  return {
    kind: 'vm',
    id: `vm-${runId.replace(/^run-/, '')}`,
    version: 0,
    state: 'live',
    createdAt: NOW,
    updatedAt: NOW,
    name: `box-${runId}`,
    owner: 'U1',
    runId,
    keys: { vmKey: '12', machineKey: '34' },
    spec: fullSpec(`box-${runId}`),
    ...fields,
  };
}

function run(id: string, fields: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    version: 0,
    state: 'succeeded',
    createdAt: NOW,
    updatedAt: NOW,
    actor: 'U1',
    spec: fullSpec(id),
    steps: {},
    keys: {},
    poweredOn: true,
    ...fields,
  };
}

function request(id: string, fields: Partial<RequestRecord> = {}): RequestRecord {
  return {
    kind: 'vm',
    id,
    version: 0,
    state: 'succeeded',
    createdAt: LONG_AGO,
    updatedAt: LONG_AGO,
    expiresAt: LONG_AGO,
    requester: 'U1',
    spec: fullSpec(id.toLowerCase()),
    warnings: [],
    approvals: [],
    ...fields,
  } as RequestRecord;
}

/** As if the store's process died: its lock files gone, nothing folded in. */
async function dropLock(dir: string): Promise<void> {
  for (const f of await readdir(dir)) if (f.startsWith('vmbot.lock')) await rm(join(dir, f));
}

describe('VM records: writes', () => {
  it('inserts and updates by compare-and-set: a stale version, a wrong state or a missing record changes nothing', async () => {
    const store = await openStore(await dataDir());
    await store.insertVm(vm('run-a'));
    expect(store.getVm('vm-a')).toEqual(vm('run-a'));

    const updated = await store.updateVm('vm-a', { version: 0, states: ['live'] }, (v) => {
      v.state = 'deleting';
      v.deleting = { by: 'U2', at: NOW };
    });
    expect(updated).toMatchObject({ id: 'vm-a', version: 1, state: 'deleting', deleting: { by: 'U2', at: NOW } });
    expect(updated.updatedAt >= NOW).toBe(true);
    // The caller's copy is its own: changing it changes nothing stored.
    updated.owner = 'U9';
    expect(store.getVm('vm-a')?.owner).toBe('U1');

    await expect(store.updateVm('vm-a', { version: 0 }, (v) => void (v.owner = 'U3'))).rejects.toMatchObject({
      code: 'STORE_CONFLICT',
      message: 'VM vm-a changed meanwhile (version 1, expected 0)',
    });
    await expect(store.updateVm('vm-a', { states: ['live'] }, (v) => void (v.owner = 'U3'))).rejects.toMatchObject({
      code: 'STORE_CONFLICT',
      message: 'VM vm-a is deleting, not live',
    });
    await expect(store.updateVm('vm-none', {}, () => {})).rejects.toMatchObject({ code: 'STORE_NOT_FOUND', message: 'no VM vm-none' });
    await expect(store.insertVm(vm('run-a', { name: 'twin' }))).rejects.toMatchObject({ code: 'STORE_CONFLICT', message: 'VM vm-a already exists' });
    expect(store.getVm('vm-a')).toMatchObject({ version: 1, state: 'deleting', owner: 'U1', name: 'box-run-a' });
  });

  it('files VM records by owner, state and run, and the indexes follow each change', async () => {
    const store = await openStore(await dataDir());
    await store.insertVm(vm('run-a'));
    await store.insertVm(vm('run-b', { owner: 'U2', createdAt: LONG_AGO }));
    await store.insertVm(vm('run-c'));
    const ids = (vms: VmRecord[]) => vms.map((v) => v.id);
    expect(ids(store.vmsBy('owner', 'U1'))).toEqual(['vm-a', 'vm-c']);
    expect(ids(store.vmsBy('state', 'live'))).toEqual(['vm-b', 'vm-a', 'vm-c']); // oldest first
    expect(ids(store.vmsBy('runId', 'run-c'))).toEqual(['vm-c']);
    expect(store.vmKeys('owner').sort()).toEqual(['U1', 'U2']);

    // Handed on, and deleted: filed again under the new keys, gone from the old.
    await store.updateVm('vm-a', {}, (v) => void (v.owner = 'U2'));
    await store.updateVm('vm-c', {}, (v) => void (v.state = 'deleted'));
    expect(ids(store.vmsBy('owner', 'U1'))).toEqual(['vm-c']);
    expect(ids(store.vmsBy('owner', 'U2'))).toEqual(['vm-b', 'vm-a']);
    expect(ids(store.vmsBy('state', 'live'))).toEqual(['vm-b', 'vm-a']);
    expect(ids(store.vmsBy('state', 'deleted'))).toEqual(['vm-c']);
    expect(ids(store.vmsBy('owner', 'U2', (v) => v.name === 'box-run-a'))).toEqual(['vm-a']);
    expect(store.vmKeys('owner').sort()).toEqual(['U1', 'U2']);
    expect(store.vmKeys('state').sort()).toEqual(['deleted', 'live']);
    expect(ids(store.listVms((v) => v.state !== 'deleted'))).toEqual(['vm-b', 'vm-a']);
  });
});

describe('VM records: reading back', () => {
  it('are replayed from the journal (a process that died), and read from the snapshot after a compaction', async () => {
    const dir = await dataDir();
    const store = await LowdbStore.open(dir);
    await store.flush(); // the first snapshot, so no compaction folds the journal in while the test reads it
    await store.insertVm(vm('run-a'));
    await store.insertVm(vm('run-b'));
    await store.updateVm('vm-a', { version: 0 }, (v) => void (v.spec.vm.cpu_cores = 8));
    const journal = (await readFile(join(dir, journalsIn(dir).at(-1)!.name), 'utf8')).trimEnd().split('\n');
    expect(journal).toEqual(Array(3).fill(expect.stringMatching(/^\{"table":"vms","sum":"[0-9a-f]{16}","record"/)));
    expect(JSON.parse(await readFile(join(dir, 'vmbot.json'), 'utf8')).vms).toEqual([]);

    // A reader while the writer lives: only the journal has them.
    const replayed = await LowdbStore.open(dir, { readOnly: true });
    expect(replayed.getVm('vm-a')).toMatchObject({ version: 1, spec: { vm: { cpu_cores: 8 } } });
    expect(replayed.vmsBy('state', 'live').map((v) => v.id)).toEqual(['vm-a', 'vm-b']);
    await replayed.close();

    await store.compact();
    expect(JSON.parse(await readFile(join(dir, 'vmbot.json'), 'utf8')).vms.map((v: VmRecord) => `${v.id}@${v.version}`)).toEqual(['vm-a@1', 'vm-b@0']);
    expect(journalsIn(dir).reduce((bytes, j) => bytes + j.bytes, 0)).toBe(0);
    const fromSnapshot = await LowdbStore.open(dir, { readOnly: true });
    expect(fromSnapshot.getVm('vm-a')).toEqual(store.getVm('vm-a'));
    expect(fromSnapshot.vmsBy('owner', 'U1').map((v) => v.id)).toEqual(['vm-a', 'vm-b']);
    await fromSnapshot.close();
    await store.close();

    const reopened = await openStore(dir);
    expect(reopened.listVms()).toEqual([
      vm('run-a', { version: 1, updatedAt: expect.any(String), spec: { ...vm('run-a').spec, vm: { ...vm('run-a').spec.vm, cpu_cores: 8 } } }),
      vm('run-b'),
    ]);
  });

  it('a journal line with this bot’s checksum is trusted, one without is validated, and a removal takes the record out', async () => {
    const dir = await dataDir();
    const line = recordLine('vms', vm('run-a'));
    expect(trustedRecord(line.trimEnd())).toEqual({ table: 'vms', record: vm('run-a') });
    expect(trustedRecord(line.trimEnd().replace('"owner":"U1"', '"owner":"U2"'))).toBeUndefined(); // the checksum no longer matches

    await writeFile(
      join(dir, 'vmbot.journal.1.jsonl'),
      line +
        `${JSON.stringify({ table: 'vms', record: vm('run-b', { owner: 'U2' }) })}\n` +
        `${JSON.stringify({ table: 'vms', record: vm('run-c') })}\n` +
        `${JSON.stringify({ table: 'vms', remove: 'vm-c' })}\n`,
    );
    const store = await openStore(dir);
    expect(store.listVms()).toEqual([vm('run-a'), vm('run-b', { owner: 'U2' })]);
    await store.close();

    // Hand-edited into something that is not a VM record: refused with the file and line.
    const broken = join(await dataDir(), 'broken');
    await openStore(broken).then((s) => s.close());
    const name = journalsIn(broken).at(-1)!.name;
    await writeFile(join(broken, name), `${JSON.stringify({ table: 'vms', record: { ...vm('run-d'), state: 'paused' } })}\n${line}`);
    await expect(LowdbStore.open(broken)).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      message: expect.stringMatching(new RegExp(`${name.replace(/\./g, '\\.')}:1 is not a VM record \\(`)),
    });
  });

  it('a snapshot written before VM records (no vms) still loads, with its digest or without', async () => {
    const older = { version: 1, journal: 0, counters: { request: 3 }, runs: [run('run-o')], requests: [] };
    // As the snapshot writer wrote it then: the body, then the digest of the body.
    const body = `{"version":1,"journal":0,"counters":${JSON.stringify(older.counters)},"runs":${JSON.stringify(older.runs)},"requests":[]`;
    const withDigest = `${body},"digest":"${createHash('sha256').update(body).digest('hex')}"}\n`;
    for (const text of [withDigest, JSON.stringify(older)]) {
      const dir = await dataDir();
      await writeFile(join(dir, 'vmbot.json'), text);
      const store = await LowdbStore.open(dir);
      expect(store.getRun('run-o')?.id).toBe('run-o');
      expect(store.counter('request')).toBe(3);
      expect(store.listVms()).toEqual([]);
      await store.insertVm(vm('run-o'));
      await store.close();
      expect(JSON.parse(await readFile(join(dir, 'vmbot.json'), 'utf8'))).toMatchObject({ vms: [vm('run-o')], runs: [{ id: 'run-o' }] });
      const again = await openStore(dir, { readOnly: true });
      expect(again.getVm('vm-o')).toEqual(vm('run-o'));
    }
  });

  it('a torn last journal line that was a VM record is cut off at open and kept aside; the whole ones are there', async () => {
    const dir = await dataDir();
    const store = await LowdbStore.open(dir);
    await store.flush();
    await store.insertVm(vm('run-a'));
    await store.insertVm(vm('run-b'));
    await dropLock(dir);
    const journal = join(dir, journalsIn(dir).at(-1)!.name);
    const text = await readFile(journal, 'utf8');
    const torn = recordLine('vms', vm('run-c')).slice(0, 90);
    await appendFile(journal, torn);

    const reopened = await openStore(dir);
    expect(reopened.listVms().map((v) => v.id)).toEqual(['vm-a', 'vm-b']);
    expect(reopened.notes).toEqual([
      expect.stringMatching(
        /^vmbot\.journal\.\d+\.jsonl:3: cut off a torn last line \(90 bytes: an interrupted write, never acknowledged\); kept in .*\.torn-/,
      ),
    ]);
    expect(await readFile(journal, 'utf8')).toBe(text);
    const side = (await readdir(dir)).find((f) => f.includes('.torn-'))!;
    expect(await readFile(join(dir, side), 'utf8')).toBe(torn);
    // Nothing was acknowledged for it: the VM record can be written now.
    await reopened.insertVm(vm('run-c'));
    expect(reopened.getVm('vm-c')).toEqual(vm('run-c'));
  });
});

describe('VM records: the archive', () => {
  it('moves old ended VM records and keeps live ones; a succeeded run stays while its VM record holds its VM', async () => {
    const dir = await dataDir();
    const store = await openStore(dir, { archiveAfterMs: 30 * 86_400_000 });
    const old = { createdAt: LONG_AGO, updatedAt: LONG_AGO };
    await store.insertRuns([
      run('run-live', old), // its VM lives: stays, and so does its VM record
      run('run-deleting', old), // being deleted: stays
      run('run-deleted', old), // its VM was deleted long ago: both leave
      run('run-recent', old), // its VM was deleted just now: the run waits for its VM record's age
      run('run-gone', { ...old, goneAt: LONG_AGO }), // from before VM records: leaves, as before
      run('run-older', old), // from before VM records, no word its VM is gone: stays
      run('run-a11', { ...old, state: 'cleaned_up', requestId: 'REQ-11' }),
      run('run-held', { ...old, requestId: 'REQ-13' }), // its request is still open: it stays, and its VM record with it
    ]);
    await store.insertVm(vm('run-live', old));
    await store.insertVm(vm('run-deleting', { ...old, state: 'deleting', deleting: { by: 'lease', at: LONG_AGO } }));
    await store.insertVm(vm('run-deleted', { ...old, state: 'deleted', deletedAt: LONG_AGO }));
    await store.insertVm(vm('run-recent', { createdAt: LONG_AGO, state: 'deleted', deletedAt: NOW }));
    await store.insertVm(vm('run-lost', { ...old, state: 'gone', goneAt: LONG_AGO })); // its run archived already
    await store.insertVm(vm('run-held', { ...old, state: 'deleted', deletedAt: LONG_AGO }));
    await store.insertRequest(request('REQ-11', { state: 'cancelled' }));
    await store.insertRequest(request('REQ-13', { state: 'provisioning' }));

    expect(await store.archiveOld()).toBe(6); // three runs, a request, two VM records
    expect(
      store
        .listRuns()
        .map((r) => r.id)
        .sort(),
    ).toEqual(['run-deleting', 'run-held', 'run-live', 'run-older', 'run-recent']);
    expect(
      store
        .listVms()
        .map((v) => v.id)
        .sort(),
    ).toEqual(['vm-deleting', 'vm-held', 'vm-live', 'vm-recent']);
    expect((await store.readArchived('vms')).map((v) => `${v.id}:${v.state}`)).toEqual(['vm-deleted:deleted', 'vm-lost:gone']);
    expect((await store.readArchived('vms'))[0]).toEqual(vm('run-deleted', { ...old, state: 'deleted', deletedAt: LONG_AGO }));
    expect((await store.readArchived('runs')).map((r) => r.id).sort()).toEqual(['run-a11', 'run-deleted', 'run-gone']);
    // Request lookups go on through the index, which holds no VM lines.
    expect(await store.findArchivedRequest('REQ-11')).toMatchObject({ id: 'REQ-11', state: 'cancelled' });
    expect((await store.archivedRunsOf('REQ-11')).map((r) => r.id)).toEqual(['run-a11']);
    const index = await readFile(join(dir, 'archive.idx'), 'utf8');
    expect(index).not.toMatch(/vm-/);
    expect(index.trim().split('\n')).toHaveLength(4); // three runs and the request

    // Ended just now: neither it nor its run leaves until the VM record is old too.
    await store.updateVm('vm-live', { states: ['live'] }, (v) => void (v.state = 'deleted'));
    expect(await store.archiveOld()).toBe(0); // the VM record was touched just now
    await store.close();

    // After a VM line, the archive still ends where the next append starts; an index made again
    // from the archive skips VM lines and finds the request and its run.
    await appendFile(join(dir, 'archive.jsonl'), `${JSON.stringify({ table: 'requests', record: request('REQ-12', { state: 'failed' }) })}\n`);
    await rm(join(dir, 'archive.idx'));
    const rebuilt = await openStore(dir);
    expect(await rebuilt.findArchivedRequest('REQ-11')).toMatchObject({ id: 'REQ-11' });
    expect(await rebuilt.findArchivedRequest('REQ-12')).toMatchObject({ id: 'REQ-12', state: 'failed' });
    expect((await rebuilt.archivedRunsOf('REQ-11')).map((r) => r.id)).toEqual(['run-a11']);
    expect((await readFile(join(dir, 'archive.idx'), 'utf8')).trim().split('\n')).toHaveLength(5);
    expect((await rebuilt.readArchived('vms')).map((v) => v.id)).toEqual(['vm-deleted', 'vm-lost']);
    expect(rebuilt.notes).toEqual([]);
  });

  it('a whole VM line at the archive’s end without its newline is kept (given one), not cut off as torn', async () => {
    const dir = await dataDir();
    await writeFile(join(dir, 'archive.jsonl'), JSON.stringify({ table: 'vms', record: vm('run-x', { state: 'deleted' }) }));
    const store = await openStore(dir);
    expect(store.notes).toEqual([]);
    expect((await store.readArchived('vms')).map((v) => v.id)).toEqual(['vm-x']);
    expect(await readFile(join(dir, 'archive.jsonl'), 'utf8')).toMatch(/\}\n$/);
  });
});
