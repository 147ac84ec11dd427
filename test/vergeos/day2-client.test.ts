/**
 * Day-2 calls of the real client against the real simulator: the exact bodies on the wire (RAM in
 * MB, disk sizes in bytes, snapshot expiry as unix seconds with its expires_type), what comes back,
 * and a change sent once: a lost answer is an unknown outcome (one request on the wire), a refusal
 * carries VergeOS's words. Time is the simulator's clock, moved by the test.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { operatorMessage, type VergeosClient } from '../../src/vergeos/index.js';
import { VergeosTransport } from '../../src/vergeos/transport.js';
import { GIB, SIM_DEFAULT_API_KEY, type VergeosSim } from '../../src/sim/index.js';
import { registry } from '../../src/ops/metrics.js';
import { withPurpose } from '../../src/vergeos/purpose.js';
import { simAndClient, vergeosFailure } from '../helpers/vergeos.js';

describe('VergeosClient day-2 calls', () => {
  let sim: VergeosSim;
  let client: VergeosClient;
  let close: () => Promise<void>;
  let now: number;
  let vmKey: string;
  let machineKey: string;
  let driveKey: string;

  beforeEach(async () => {
    now = Date.parse('2026-03-02T10:00:00Z');
    ({ sim, client, close } = await simAndClient({ clock: () => now }));
    ({ vmKey, machineKey } = await client.createVm({ name: 'app-01', description: 'the app', cluster: '1', cpu_cores: 2, ram: 4096 }));
    driveKey = (await client.addDrive({ machine: machineKey, name: 'OS', media: 'disk', interface: 'virtio-scsi', disksize: 50 * GIB, preferred_tier: '2' }))
      .key;
    await client.addNic({ machine: machineKey, vnet: '3', name: 'lan' });
  });
  afterEach(() => close());

  it('reads need_restart and cluster of a VM and the tier of a drive, asking for them by name', async () => {
    expect(await client.getVm(vmKey)).toMatchObject({ key: vmKey, cpuCores: 2, ram: 4096, needRestart: false, cluster: '1' });
    expect(await client.findVmByName('app-01')).toMatchObject({ key: vmKey, needRestart: false, cluster: '1' });
    expect(sim.requestsTo('GET /vms/:key')[0]?.query.fields).toBe(
      '$key,name,machine,description,cpu_cores,ram,is_snapshot,need_restart,cluster,machine#status#status as status,machine#status#running as running',
    );
    expect(await client.listDrives(machineKey)).toEqual([expect.objectContaining({ key: driveKey, disksize: 50 * GIB, preferredTier: '2' })]);
    expect(sim.requestsTo('GET /machine_drives')[0]?.query.fields).toBe(
      '$key,machine,name,media,interface,disksize,media_source,preferred_tier,status#status as status',
    );
  });

  it('resizes with PUT {cpu_cores, ram in MB}: a running VM keeps running and needs a restart, which a power cycle clears', async () => {
    await withPurpose('change', () => client.updateVmSize(vmKey, { cpu_cores: 4, ram: 8192 }));
    await client.powerOn(vmKey);
    await client.updateVmSize(vmKey, { cpu_cores: 8, ram: 16384 });
    expect(sim.requestsTo('PUT /vms/:key').map((r) => [r.path, r.body])).toEqual([
      [`/api/v4/vms/${vmKey}`, { cpu_cores: 4, ram: 8192 }],
      [`/api/v4/vms/${vmKey}`, { cpu_cores: 8, ram: 16384 }],
    ]);
    expect(await client.getVm(vmKey)).toMatchObject({ cpuCores: 8, ram: 16384, running: true, needRestart: true });
    await client.vmAction(vmKey, 'poweroff');
    expect(await client.getVm(vmKey)).toMatchObject({ running: false, needRestart: true });
    await client.powerOn(vmKey);
    expect(await client.getVm(vmKey)).toMatchObject({ running: true, needRestart: false, cpuCores: 8 });
    // Counted by table, never by key.
    const counted = await registry.metrics();
    expect(counted).toMatch(/^vmbot_vergeos_requests_total\{method="PUT",endpoint="\/vms\/:key",status="200",purpose="change"\} \d+$/m);
    expect(counted).not.toContain(`/vms/${vmKey}"`);
  });

  it('sends a resize once: an answer lost after VergeOS took it is an unknown outcome, with one PUT on the wire', async () => {
    sim.faults.add({ route: 'PUT /vms/:key', drop: true, commit: true });
    const lost = await vergeosFailure(client.updateVmSize(vmKey, { cpu_cores: 6, ram: 12288 }));
    expect([lost.code, lost.outcomeUnknown, lost.retrySafe, lost.endpoint]).toEqual(['VERGEOS_UNAVAILABLE', true, false, `PUT /api/v4/vms/${vmKey}`]);
    expect(sim.requestsTo('PUT /vms/:key').map((r) => r.outcome)).toEqual(['dropped']);
    // It did happen: the caller finds out by reading the VM.
    expect(await client.getVm(vmKey)).toMatchObject({ cpuCores: 6, ram: 12288 });

    sim.faults.clear();
    sim.faults.add({ route: 'PUT /machine_drives/:key', status: 503 });
    const unavailable = await vergeosFailure(client.growDrive(driveKey, 60 * GIB));
    expect([unavailable.code, unavailable.status, unavailable.outcomeUnknown]).toEqual(['VERGEOS_UNAVAILABLE', 503, true]);
    expect(sim.requestsTo('PUT /machine_drives/:key')).toHaveLength(1);
  });

  it('a PUT without `once` is still retried by the transport on a lost answer; with it, never', async () => {
    const transport = new VergeosTransport({ url: sim.url, auth: { apiKey: SIM_DEFAULT_API_KEY }, retry: { retries: 2, baseMs: 1, maxMs: 2 } });
    try {
      sim.faults.add({ route: 'PUT /vms/:key', nth: 1, drop: true });
      await transport.call({ method: 'PUT', path: `/vms/${vmKey}`, body: { cpu_cores: 3 } });
      expect(sim.requestsTo('PUT /vms/:key').map((r) => r.outcome)).toEqual(['dropped', 200]);
      sim.faults.clear();
      sim.faults.add({ route: 'PUT /vms/:key', drop: true });
      const lost = await vergeosFailure(transport.call({ method: 'PUT', path: `/vms/${vmKey}`, body: { cpu_cores: 3 }, once: true }));
      expect(lost.outcomeUnknown).toBe(true);
      expect(sim.requestsTo('PUT /vms/:key').map((r) => r.outcome)).toEqual(['dropped', 200, 'dropped']);
    } finally {
      await transport.close();
    }
  });

  it("gives VergeOS's words when it refuses a resize or a shrink, and knows nothing happened", async () => {
    const badRam = await vergeosFailure(client.updateVmSize(vmKey, { cpu_cores: 2, ram: 100 }));
    expect([badRam.code, badRam.status, badRam.vergeosMessage, badRam.outcomeUnknown]).toEqual([
      'VERGEOS_VALIDATION',
      400,
      "Invalid value for 'ram': 100",
      false,
    ]);
    const shrink = await vergeosFailure(client.growDrive(driveKey, 10 * GIB));
    expect([shrink.code, shrink.status, shrink.outcomeUnknown]).toEqual(['VERGEOS_VALIDATION', 422, false]);
    expect(operatorMessage(shrink)).toBe('VergeOS refused a value in the request. VergeOS said: "Drives can only be expanded, never shrunk".');
    const gone = await vergeosFailure(client.updateVmSize('9999', { cpu_cores: 2, ram: 4096 }));
    expect([gone.code, gone.vergeosMessage]).toEqual(['VERGEOS_NOT_FOUND', "VM '9999' not found"]);
    expect(sim.requestsTo('PUT /vms/:key')).toHaveLength(2);
    expect(sim.requestsTo('PUT /machine_drives/:key')).toHaveLength(1);
  });

  it('grows a drive with PUT {disksize in bytes}', async () => {
    await client.growDrive(driveKey, 200 * GIB);
    expect(sim.requestsTo('PUT /machine_drives/:key').map((r) => [r.path, r.body])).toEqual([[`/api/v4/machine_drives/${driveKey}`, { disksize: 200 * GIB }]]);
    expect((await client.listDrives(machineKey))[0]).toMatchObject({ key: driveKey, disksize: 200 * GIB, preferredTier: '2' });
  });

  it('takes snapshots with an absolute expires (or never), lists them newest first and finds the VM of each', async () => {
    const expiresAt = new Date(now + 7 * 86_400_000);
    const weekly = await withPurpose('change', () => client.createSnapshot({ machine: machineKey, name: 'before-upgrade', expiresAt }));
    now += 90_000;
    const kept = await client.createSnapshot({ machine: machineKey, name: 'golden', quiesce: true, description: 'known good' });
    expect(sim.requestsTo('POST /machine_snapshots').map((r) => r.body)).toEqual([
      {
        machine: Number(machineKey),
        name: 'before-upgrade',
        created_manually: true,
        quiesce: false,
        expires: Math.floor(expiresAt.getTime() / 1000),
        expires_type: 'date',
      },
      { machine: Number(machineKey), name: 'golden', created_manually: true, quiesce: true, expires_type: 'never', description: 'known good' },
    ]);

    const snapshots = await client.listSnapshots(machineKey);
    expect(sim.requestsTo('GET /machine_snapshots')[0]?.query).toMatchObject({
      filter: `machine eq ${machineKey}`,
      sort: '-created',
      fields: '$key,name,description,created,expires,quiesced,created_manually,machine,snap_machine',
    });
    expect(snapshots).toEqual([
      {
        key: kept.key,
        name: 'golden',
        description: 'known good',
        createdAt: '2026-03-02T10:01:30.000Z',
        expiresAt: undefined,
        machineKey,
        snapMachineKey: expect.stringMatching(/^\d+$/),
        quiesced: true,
        manual: true,
      },
      {
        key: weekly.key,
        name: 'before-upgrade',
        description: '',
        createdAt: '2026-03-02T10:00:00.000Z',
        expiresAt: '2026-03-09T10:00:00.000Z',
        machineKey,
        snapMachineKey: expect.stringMatching(/^\d+$/),
        quiesced: false,
        manual: true,
      },
    ]);
    const snapVm = await client.snapshotVmKey(snapshots[1]!.snapMachineKey!);
    expect(snapVm).toMatch(/^\d+$/);
    expect(snapVm).not.toBe(vmKey);
    expect(await registry.metrics()).toMatch(
      /^vmbot_vergeos_requests_total\{method="POST",endpoint="\/machine_snapshots",status="201",purpose="change"\} \d+$/m,
    );
    expect(sim.requestsTo('GET /vms').at(-1)?.query).toMatchObject({
      filter: `machine eq ${snapshots[1]!.snapMachineKey}`,
      fields: '$key,name,machine,is_snapshot',
    });
    // The live VM's own machine has no snapshot VM row; the name still finds the live VM.
    expect(await client.snapshotVmKey(machineKey)).toBeUndefined();
    expect((await client.findVmByName('app-01'))?.key).toBe(vmKey);
  });

  it('restores in place through the snapshot VM key, refused while the VM runs', async () => {
    const snap = await client.createSnapshot({ machine: machineKey, name: 'base' });
    const [listed] = await client.listSnapshots(machineKey);
    const snapVm = (await client.snapshotVmKey(listed!.snapMachineKey!))!;
    await client.updateVmSize(vmKey, { cpu_cores: 8, ram: 32768 });
    await client.powerOn(vmKey);
    const refused = await vergeosFailure(client.restoreSnapshot(snapVm, snap.key));
    expect([refused.code, refused.status, refused.vergeosMessage, refused.outcomeUnknown]).toEqual([
      'VERGEOS_CONFLICT',
      409,
      'VM must be powered off for in-place restore',
      false,
    ]);
    await client.vmAction(vmKey, 'kill');
    await client.restoreSnapshot(snapVm, snap.key);
    expect(sim.requestsTo('POST /vm_actions').at(-1)?.body).toEqual({ vm: Number(snapVm), action: 'restore', params: { snapshot: Number(snap.key) } });
    expect(await client.getVm(vmKey)).toMatchObject({ cpuCores: 2, ram: 4096, needRestart: false });
  });

  it('deletes a snapshot with its VM; a retried DELETE that finds it gone is done', async () => {
    const snap = await client.createSnapshot({ machine: machineKey, name: 'temp' });
    const snapMachine = (await client.listSnapshots(machineKey))[0]!.snapMachineKey!;
    sim.faults.add({ route: 'DELETE /machine_snapshots/:key', nth: 1, drop: true, commit: true });
    await client.deleteSnapshot(snap.key);
    expect(sim.requestsTo('DELETE /machine_snapshots/:key').map((r) => [r.path, r.outcome])).toEqual([
      [`/api/v4/machine_snapshots/${snap.key}`, 'dropped'],
      [`/api/v4/machine_snapshots/${snap.key}`, 404],
    ]);
    expect(await client.listSnapshots(machineKey)).toEqual([]);
    expect(await client.snapshotVmKey(snapMachine)).toBeUndefined();
  });

  it('clones with new MACs and returns the new keys; without them in the answer, returns none', async () => {
    await client.powerOn(vmKey);
    const clone = await client.cloneVm(vmKey, 'app-02');
    expect(sim.requestsTo('POST /vm_actions').at(-1)?.body).toEqual({ vm: Number(vmKey), action: 'clone', params: { name: 'app-02', preserve_macs: false } });
    expect(clone).toEqual({ vmKey: expect.stringMatching(/^\d+$/), machineKey: expect.stringMatching(/^\d+$/) });
    expect(await client.getVm(clone.vmKey!)).toMatchObject({
      name: 'app-02',
      machineKey: clone.machineKey,
      cpuCores: 2,
      ram: 4096,
      description: 'the app',
      cluster: '1',
      running: false,
    });
    expect((await client.listDrives(clone.machineKey!)).map((d) => [d.name, d.disksize, d.preferredTier])).toEqual([['OS', 50 * GIB, '2']]);
    const [original] = await client.listNics(machineKey);
    const [copy] = await client.listNics(clone.machineKey!);
    expect(copy).toMatchObject({ name: 'lan', vnet: '3' });
    expect(copy!.macaddress).not.toBe(original!.macaddress);

    const taken = await vergeosFailure(client.cloneVm(vmKey, 'app-02'));
    expect([taken.code, taken.vergeosMessage]).toEqual(['VERGEOS_NAME_TAKEN', "The name 'app-02' is already in use"]);

    sim.faults.add({ route: 'POST /vm_actions', status: 201, body: { $key: '99' }, commit: true });
    expect(await client.cloneVm(vmKey, 'app-03')).toEqual({});
    expect((await client.findVmByName('app-03'))?.cpuCores).toBe(2);
  });
});
