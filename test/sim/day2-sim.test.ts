/**
 * The simulator's day-2 rules as a raw HTTP peer: resize (need_restart), grow-only drives, the
 * cluster's per-VM limits at power-on, machine_snapshots with their hidden VM rows, in-place
 * restore, clone, a NIC's address after a hot add, and `commit: true` faults on the new routes.
 * Time is the test's clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { dhcpAddress, GIB, SIM_DEFAULT_API_KEY, startVergeosSim, type VergeosSim } from '../../src/sim/index.js';

const AUTH = { authorization: `Bearer ${SIM_DEFAULT_API_KEY}` };
type Json = Record<string, unknown>;

async function call(sim: VergeosSim, method: 'GET' | 'POST' | 'DELETE' | 'PUT', path: string, body?: unknown) {
  const res = await request(`${sim.url}/api/v4${path}`, { method, headers: AUTH, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, json: (text ? JSON.parse(text) : undefined) as Json & Json[] };
}

describe('VergeOS simulator: day-2 changes', () => {
  let sim: VergeosSim;
  let now: number;
  let vm: number;
  let machine: number;
  let disk: number;

  const get = async (path: string, fields: string) =>
    (await call(sim, 'GET', `${path}${path.includes('?') ? '&' : '?'}fields=${encodeURIComponent(fields)}`)).json;
  const vmRow = (key: number = vm) => get(`/vms/${key}`, 'name,cpu_cores,ram,need_restart,cluster,description,machine#status#status as status');
  const act = (action: string, key: number = vm, params: Json = {}) => call(sim, 'POST', '/vm_actions', { vm: key, action, params });
  const tier1 = () => get('/storage_tiers/1', 'used,allocated');
  const stop = async () => {
    expect((await act('poweroff')).status).toBe(201);
    now += 60;
  };
  const start = async () => {
    expect((await act('poweron')).status).toBe(201);
    now += 60;
  };

  beforeEach(async () => {
    now = Date.parse('2026-01-05T09:00:00Z');
    sim = await startVergeosSim({ timing: { importMs: 100, startMs: 60, stopMs: 60, addressMs: 1_000 }, clock: () => now });
    const created = await call(sim, 'POST', '/vms', { name: 'app-01', description: 'the app', cluster: 2, cpu_cores: 2, ram: 4096 });
    vm = Number(created.json.$key);
    machine = Number((created.json.response as Json).machine);
    disk = Number((await call(sim, 'POST', '/machine_drives', { machine, name: 'OS', media: 'disk', disksize: 50 * GIB, preferred_tier: '1' })).json.$key);
  });
  afterEach(() => sim.close());

  it('PUT /vms/:key checks its values, and marks a running VM need_restart until it is next powered on from stopped', async () => {
    expect(await call(sim, 'PUT', '/vms/9999', { cpu_cores: 2 })).toEqual({ status: 404, json: { err: "VM '9999' not found" } });
    expect(await call(sim, 'PUT', `/vms/${vm}`, { cpu_cores: 0 })).toEqual({ status: 400, json: { err: "Invalid value for 'cpu_cores': 0" } });
    expect(await call(sim, 'PUT', `/vms/${vm}`, { cpu_cores: 1025 })).toEqual({ status: 400, json: { err: "Invalid value for 'cpu_cores': 1025" } });
    expect(await call(sim, 'PUT', `/vms/${vm}`, { ram: 255 })).toEqual({ status: 400, json: { err: "Invalid value for 'ram': 255" } });
    expect(await call(sim, 'PUT', `/vms/${vm}`, { ram: 1_048_577 })).toEqual({ status: 400, json: { err: "Invalid value for 'ram': 1048577" } });
    expect(await call(sim, 'PUT', `/vms/${vm}`, { name: 'legacy-db' })).toEqual({ status: 409, json: { err: "The name 'legacy-db' is already in use" } });

    // Off: taken as is, nothing waits.
    expect((await call(sim, 'PUT', `/vms/${vm}`, { cpu_cores: 4, ram: 8192 })).status).toBe(200);
    expect(await vmRow()).toMatchObject({ cpu_cores: 4, ram: 8192, need_restart: false, status: 'stopped' });

    await start();
    // The same size again changes nothing; a new one waits for a power cycle.
    expect((await call(sim, 'PUT', `/vms/${vm}`, { cpu_cores: 4, ram: 8192 })).status).toBe(200);
    expect((await vmRow()).need_restart).toBe(false);
    const put = await call(sim, 'PUT', `/vms/${vm}`, { ram: 16384, description: 'bigger' });
    expect(put).toMatchObject({ status: 200, json: { ram: 16384, need_restart: true } });
    expect(await vmRow()).toMatchObject({ cpu_cores: 4, ram: 16384, need_restart: true, description: 'bigger', status: 'running' });
    await stop();
    expect(await vmRow()).toMatchObject({ need_restart: true, status: 'stopped' });
    await start();
    expect(await vmRow()).toMatchObject({ need_restart: false, status: 'running', ram: 16384 });
  });

  it('accepts a size over the cluster limit, then refuses to power the VM on in VergeOS words', async () => {
    // GPU-Cluster: at most 524288 MB and 64 cores per VM.
    expect((await call(sim, 'PUT', `/vms/${vm}`, { ram: 524_544 })).status).toBe(200);
    expect(await act('poweron')).toEqual({ status: 422, json: { err: 'Machine exceeds the max amount of RAM allowed on this cluster' } });
    expect((await vmRow()).status).toBe('stopped');
    await call(sim, 'PUT', `/vms/${vm}`, { ram: 524_288, cpu_cores: 65 });
    expect(await act('poweron')).toEqual({ status: 422, json: { err: 'Machine exceeds the max amount of cores allowed on this cluster' } });
    await call(sim, 'PUT', `/vms/${vm}`, { cpu_cores: 64 });
    expect((await act('poweron')).status).toBe(201);
  });

  it('grows a drive on its tier, and never shrinks one', async () => {
    const before = await tier1();
    expect(await call(sim, 'PUT', '/machine_drives/9', { disksize: GIB })).toEqual({ status: 404, json: { err: "Drive '9' not found" } });
    expect(await call(sim, 'PUT', `/machine_drives/${disk}`, { disksize: 10 * GIB })).toEqual({
      status: 422,
      json: { err: 'Drives can only be expanded, never shrunk' },
    });
    expect(await call(sim, 'PUT', `/machine_drives/${disk}`, { disksize: '60' })).toEqual({ status: 400, json: { err: "Invalid value for 'disksize': 60" } });
    expect(await call(sim, 'PUT', `/machine_drives/${disk}`, { disksize: 4096 * GIB })).toEqual({
      status: 507,
      json: { err: 'Insufficient storage on tier 1' },
    });
    expect(await call(sim, 'PUT', `/machine_drives/${disk}`, { disksize: 80 * GIB })).toMatchObject({ status: 200, json: { disksize: 80 * GIB } });
    // Grown thin: allocated now, used only as the guest writes.
    expect(await tier1()).toEqual({ used: Number(before.used), allocated: Number(before.allocated) + 30 * GIB });
    const cdrom = String((await call(sim, 'POST', '/machine_drives', { machine, media: 'cdrom', media_source: 7 })).json.$key);
    expect(await call(sim, 'PUT', `/machine_drives/${cdrom}`, { disksize: GIB })).toEqual({
      status: 422,
      json: { err: "Drive 'drive_1' is a cdrom and cannot be resized" },
    });
  });

  it('keeps snapshots in machine_snapshots, each with a hidden VM row of its own machine; lists them by filter, sort and fields; deletes both', async () => {
    expect(await call(sim, 'POST', '/machine_snapshots', { machine: 9999, name: 's' })).toEqual({ status: 404, json: { err: "Machine '9999' not found" } });
    expect(await call(sim, 'POST', '/machine_snapshots', { machine })).toEqual({ status: 400, json: { err: "Missing required field 'name'" } });
    expect(await call(sim, 'POST', '/machine_snapshots', { machine, name: 's', expires_type: 'date' })).toEqual({
      status: 400,
      json: { err: "expires_type 'date' requires 'expires'" },
    });
    const t0 = Math.floor(now / 1000);
    const first = await call(sim, 'POST', '/machine_snapshots', {
      machine,
      name: 'before-upgrade',
      created_manually: true,
      quiesce: false,
      expires: t0 + 86_400,
      expires_type: 'date',
    });
    expect(first.status).toBe(201);
    expect(first.json.$key).toEqual(expect.stringMatching(/^\d+$/));
    now += 5_000;
    const second = await call(sim, 'POST', '/machine_snapshots', {
      machine,
      name: 'forever',
      created_manually: true,
      quiesce: true,
      expires_type: 'never',
      description: 'keep',
    });
    const fields = '$key,name,description,created,expires,quiesced,created_manually,machine,snap_machine';
    const listed = await get(`/machine_snapshots?filter=${encodeURIComponent(`machine eq ${machine}`)}&sort=-created`, fields);
    expect(listed.map((s) => [s.name, s.created, s.expires, s.quiesced, s.created_manually, s.machine, s.description])).toEqual([
      ['forever', t0 + 5, 0, true, true, machine, 'keep'],
      ['before-upgrade', t0, t0 + 86_400, false, true, machine, ''],
    ]);
    const snapMachine = Number(listed[1]!.snap_machine);
    expect(snapMachine).not.toBe(machine);
    // The hidden VM: is_snapshot, a copy of the VM's name and size, found by its machine; live-VM lookups skip it.
    const hidden = await get(`/vms?filter=${encodeURIComponent(`machine eq ${snapMachine}`)}`, '$key,name,machine,is_snapshot,cpu_cores,ram');
    expect(hidden).toEqual([{ $key: expect.any(Number), name: 'app-01', machine: snapMachine, is_snapshot: true, cpu_cores: 2, ram: 4096 }]);
    expect(await get(`/vms?filter=${encodeURIComponent("name eq 'app-01' and is_snapshot eq false")}`, '$key')).toEqual([{ $key: vm }]);
    // Its machine holds a copy of the drive, which takes no room on the tier.
    expect(await get(`/machine_drives?filter=${encodeURIComponent(`machine eq ${snapMachine}`)}`, 'name,disksize')).toEqual([
      { name: 'OS', disksize: 50 * GIB },
    ]);

    expect(await call(sim, 'DELETE', '/machine_snapshots/9')).toEqual({ status: 404, json: { err: "Snapshot '9' not found" } });
    expect((await call(sim, 'DELETE', `/machine_snapshots/${String(first.json.$key)}`)).status).toBe(200);
    expect((await call(sim, 'GET', `/vms/${String(hidden[0]!.$key)}`)).status).toBe(404);
    expect(await get(`/machine_drives?filter=${encodeURIComponent(`machine eq ${snapMachine}`)}`, 'name')).toEqual([]);
    expect((await get(`/machine_snapshots?filter=${encodeURIComponent(`machine eq ${machine}`)}`, '$key')).map((s) => String(s.$key))).toEqual([
      second.json.$key,
    ]);
  });

  it('restores in place only while the VM is off and only through the snapshot VM: size and disks go back, what was added since goes', async () => {
    const tierBefore = await tier1();
    const snap = String((await call(sim, 'POST', '/machine_snapshots', { machine, name: 'base', expires_type: 'never' })).json.$key);
    const snapMachine = Number((await get(`/machine_snapshots/${snap}`, 'snap_machine')).snap_machine);
    const snapVm = Number((await get(`/vms?filter=${encodeURIComponent(`machine eq ${snapMachine}`)}`, '$key'))[0]!.$key);
    await call(sim, 'PUT', `/vms/${vm}`, { cpu_cores: 8, ram: 16384 });
    await call(sim, 'PUT', `/machine_drives/${disk}`, { disksize: 70 * GIB });
    await call(sim, 'POST', '/machine_drives', { machine, name: 'Data', media: 'disk', disksize: 10 * GIB, preferred_tier: '1' });
    await call(sim, 'POST', '/machine_nics', { machine, vnet: 3, name: 'late' });

    expect(await act('restore', vm, { snapshot: Number(snap) })).toEqual({
      status: 422,
      json: { err: "VM 'app-01' is not a snapshot: an in-place restore takes the snapshot's VM key" },
    });
    expect(await act('restore', snapVm, { snapshot: 9 })).toEqual({ status: 422, json: { err: `Snapshot '9' does not belong to VM '${snapVm}'` } });
    expect((await act('poweron')).status).toBe(201);
    // Starting, then running: refused in pyVergeOS's words either way.
    for (const wait of [0, 60]) {
      now += wait;
      expect(await act('restore', snapVm, { snapshot: Number(snap) })).toEqual({ status: 409, json: { err: 'VM must be powered off for in-place restore' } });
    }
    expect((await vmRow()).cpu_cores).toBe(8);
    await stop();

    expect((await act('restore', snapVm, { snapshot: Number(snap) })).status).toBe(201);
    expect(await vmRow()).toMatchObject({ name: 'app-01', cpu_cores: 2, ram: 4096, need_restart: false });
    expect(await get(`/machine_drives?filter=${encodeURIComponent(`machine eq ${machine}`)}`, '$key,name,disksize')).toEqual([
      { $key: disk, name: 'OS', disksize: 50 * GIB },
    ]);
    expect(await get(`/machine_nics?filter=${encodeURIComponent(`machine eq ${machine}`)}`, 'name')).toEqual([]);
    expect(await tier1()).toEqual({ used: Number(tierBefore.used), allocated: Number(tierBefore.allocated) });
  });

  it('clones a VM (running or not) with its settings, copies of drives on their tiers and NICs with new MACs; answers the new keys as strings', async () => {
    await call(sim, 'POST', '/machine_nics', { machine, vnet: 3, name: 'lan' });
    await start();
    const tierBefore = await tier1();
    const clone = await act('clone', vm, { name: 'app-02', preserve_macs: false });
    expect(clone.status).toBe(201);
    const response = clone.json.response as Record<string, string>;
    expect(response).toEqual({
      vmkey: expect.stringMatching(/^\d+$/),
      machinekey: expect.stringMatching(/^\d+$/),
      machinestatuskey: expect.stringMatching(/^\d+$/),
      clusterkey: '2',
    });
    expect(clone.json.$key).toEqual(expect.stringMatching(/^\d+$/));
    expect(await vmRow(Number(response.vmkey))).toEqual({
      name: 'app-02',
      cpu_cores: 2,
      ram: 4096,
      need_restart: false,
      cluster: 2,
      description: 'the app',
      status: 'stopped',
    });
    expect((await get(`/vms/${response.vmkey}`, 'machine')).machine).toBe(Number(response.machinekey));
    const drives = await get(`/machine_drives?filter=${encodeURIComponent(`machine eq ${response.machinekey}`)}`, '$key,name,disksize,preferred_tier');
    expect(drives).toEqual([{ $key: expect.any(Number), name: 'OS', disksize: 50 * GIB, preferred_tier: '1' }]);
    expect(drives[0]!.$key).not.toBe(disk);
    // The copy of a blank thin disk: its size allocated, nothing written.
    expect(await tier1()).toEqual({ used: Number(tierBefore.used), allocated: Number(tierBefore.allocated) + 50 * GIB });
    const macs = async (m: unknown) => (await get(`/machine_nics?filter=${encodeURIComponent(`machine eq ${String(m)}`)}`, 'name,vnet,macaddress')) as Json[];
    const [original] = await macs(machine);
    const [copy] = await macs(response.machinekey);
    expect(copy).toMatchObject({ name: 'lan', vnet: 3 });
    expect(copy!.macaddress).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(copy!.macaddress).not.toBe(original!.macaddress);

    expect(await act('clone', vm, { name: 'app-02' })).toEqual({ status: 409, json: { err: "The name 'app-02' is already in use" } });
    expect(await act('clone', 9999, { name: 'x' })).toEqual({ status: 404, json: { err: "VM '9999' not found" } });
  });

  it('gives a NIC added to a running VM its address addressMs after it was added', async () => {
    await start();
    now += 5_000; // long past the VM's own address time
    const nic = String((await call(sim, 'POST', '/machine_nics', { machine, vnet: 4, name: 'hot' })).json.$key);
    const address = async () => (await get(`/machine_nics/${nic}`, 'ipaddress')).ipaddress;
    expect(await address()).toBe('');
    now += 999;
    expect(await address()).toBe('');
    now += 1;
    expect(await address()).toBe(dhcpAddress(4, Number(nic)));
  });

  it('applies a change and then fails or drops the answer under commit faults on every new route', async () => {
    sim.faults.add([
      { route: 'PUT /vms/:key', drop: true, commit: true },
      { route: 'PUT /machine_drives/:key', status: 500, commit: true },
      { route: 'POST /machine_snapshots', drop: true, commit: true },
      { route: 'POST /vm_actions', status: 503, commit: true },
    ]);
    await expect(call(sim, 'PUT', `/vms/${vm}`, { cpu_cores: 6 })).rejects.toThrow();
    expect(await call(sim, 'PUT', `/machine_drives/${disk}`, { disksize: 60 * GIB })).toEqual({ status: 500, json: { err: 'Simulated failure (500)' } });
    await expect(call(sim, 'POST', '/machine_snapshots', { machine, name: 'lost' })).rejects.toThrow();
    expect((await act('clone', vm, { name: 'app-03' })).status).toBe(503);
    sim.faults.clear();
    sim.faults.add({ route: 'DELETE /machine_snapshots/:key', drop: true, commit: true });
    const snaps = await get(`/machine_snapshots?filter=${encodeURIComponent(`machine eq ${machine}`)}`, '$key,name');
    expect(snaps.map((s) => s.name)).toEqual(['lost']);
    await expect(call(sim, 'DELETE', `/machine_snapshots/${String(snaps[0]!.$key)}`)).rejects.toThrow();
    sim.faults.clear();

    expect((await vmRow()).cpu_cores).toBe(6);
    expect((await get(`/machine_drives/${disk}`, 'disksize')).disksize).toBe(60 * GIB);
    expect(await get(`/vms?filter=${encodeURIComponent("name eq 'app-03'")}`, 'name')).toEqual([{ name: 'app-03' }]);
    expect(await get(`/machine_snapshots?filter=${encodeURIComponent(`machine eq ${machine}`)}`, '$key')).toEqual([]);
    expect(sim.requests.filter((r) => r.method !== 'GET').map((r) => `${r.route} ${r.outcome}`)).toEqual([
      'POST /vms 201',
      'POST /machine_drives 201',
      'PUT /vms/:key dropped',
      'PUT /machine_drives/:key 500',
      'POST /machine_snapshots dropped',
      'POST /vm_actions 503',
      'DELETE /machine_snapshots/:key dropped',
    ]);
  });
});
