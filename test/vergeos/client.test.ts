/**
 * Contract tests: the real client against the real simulator over loopback HTTP.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VergeosClient, operatorMessage } from '../../src/vergeos/index.js';
import { DISABLED_RESOURCE_GROUP, GIB, GPU_RESOURCE_GROUP, SIM_DEFAULT_USER, SIM_READONLY_API_KEY, type VergeosSim } from '../../src/sim/index.js';
import { simAndClient, vergeosFailure } from '../helpers/vergeos.js';

describe('VergeosClient calls', () => {
  let sim: VergeosSim;
  let client: VergeosClient;
  let close: () => Promise<void>;

  beforeEach(async () => {
    ({ sim, client, close } = await simAndClient());
  });
  afterEach(() => close());

  it('creates a VM and returns the VM key and the machine key, which differ', async () => {
    const body = {
      name: 'web-01',
      description: 'Production web server',
      cluster: '1',
      ram: 8192,
      cpu_cores: 4,
      guest_agent: 'true' as const,
      uefi: 'true' as const,
      video: 'virtio',
      rtc_base: 'utc',
      console_pass_hash: '',
    };
    const created = await client.createVm(body);
    expect(created).toEqual({ vmKey: expect.stringMatching(/^\d+$/), machineKey: expect.stringMatching(/^\d+$/) });
    expect(created.vmKey).not.toBe(created.machineKey);
    const [request] = sim.requestsTo('POST /vms');
    expect(request?.body).toEqual(body);
    const vm = await client.getVm(created.vmKey);
    expect(vm).toMatchObject({ key: created.vmKey, machineKey: created.machineKey, name: 'web-01', cpuCores: 4, ram: 8192, status: 'stopped', running: false });
  });

  it('attaches drives, NICs and devices by machine key and returns their keys as strings', async () => {
    const { vmKey, machineKey } = await client.createVm({ name: 'gpu-ws-01', cluster: '2', ram: 32768, cpu_cores: 8 });
    const boot = await client.addDrive({
      machine: machineKey,
      name: 'OS Drive',
      media: 'disk',
      interface: 'virtio-scsi',
      disksize: 100 * GIB,
      preferred_tier: '1',
    });
    const cdrom = await client.addDrive({ machine: machineKey, media: 'cdrom', interface: 'ahci', media_source: '7' });
    const nic = await client.addNic({ machine: machineKey, vnet: '3', interface: 'virtio', name: 'uplink' });
    const gpu = await client.addDevice({ machine: machineKey, type: 'node_host_gpu_devices', resource_group: GPU_RESOURCE_GROUP });
    const tpm = await client.addDevice({ machine: machineKey, type: 'tpm' });

    for (const key of [boot.key, cdrom.key, nic.key, gpu.key, tpm.key]) expect(key).toMatch(/^\d+$/);
    expect(gpu.uuid).toMatch(/^[0-9a-f-]{36}$/);
    for (const route of ['POST /machine_drives', 'POST /machine_nics', 'POST /machine_devices']) {
      for (const r of sim.requestsTo(route)) expect((r.body as { machine: string }).machine).toBe(machineKey);
    }
    expect(sim.requestsTo('POST /machine_devices').map((r) => r.body)).toEqual([
      { machine: machineKey, type: 'node_host_gpu_devices', resource_group: GPU_RESOURCE_GROUP, settings_args: {} },
      { machine: machineKey, type: 'tpm', settings_args: {} },
    ]);
    expect(vmKey).not.toBe(machineKey);

    const drives = await client.listDrives(machineKey);
    expect(drives.map((d) => [d.key, d.name, d.media, d.interface, d.disksize])).toEqual([
      [boot.key, 'OS Drive', 'disk', 'virtio-scsi', 100 * GIB],
      [cdrom.key, 'drive_1', 'cdrom', 'ahci', 0],
    ]);
    expect(drives[1]?.mediaSource).toBe('7');
    const nics = await client.listNics(machineKey);
    // A VM that is off has no address yet: VergeOS sends '' and the client says undefined.
    expect(nics).toEqual([
      {
        key: nic.key,
        machineKey,
        name: 'uplink',
        vnet: '3',
        interface: 'virtio',
        enabled: true,
        ipaddress: undefined,
        macaddress: expect.stringMatching(/^52:54:00(:[0-9a-f]{2}){3}$/),
      },
    ]);
    const devices = await client.listDevices(machineKey);
    // VergeOS stores the group's key (pyVergeOS reads it as a number); the uuid comes through the join.
    expect(devices).toEqual([
      {
        key: gpu.key,
        machineKey,
        type: 'node_host_gpu_devices',
        resourceGroup: '1',
        resourceGroupUuid: GPU_RESOURCE_GROUP,
        uuid: gpu.uuid,
        name: 'NVIDIA A40 (passthrough)',
      },
      { key: tpm.key, machineKey, type: 'tpm', resourceGroup: undefined, resourceGroupUuid: undefined, uuid: tpm.uuid, name: 'tpm' },
    ]);
    expect(sim.requestsTo('GET /machine_devices').at(-1)?.query.fields).toBe(
      '$key,machine,type,resource_group,resource_group#uuid as resource_group_uuid,uuid,name',
    );
  });

  it('powers on with the VM key and reads status by machine key (the status row has its own key)', async () => {
    const { vmKey, machineKey } = await client.createVm({ name: 'app-01' });
    expect(await client.machineStatus(machineKey)).toMatchObject({ machineKey, status: 'stopped', running: false });
    await client.powerOn(vmKey);
    expect(sim.requestsTo('POST /vm_actions')[0]?.body).toEqual({ vm: Number(vmKey), action: 'poweron', params: {} });
    const status = await client.machineStatus(machineKey);
    expect(status).toMatchObject({ machineKey, status: 'running', running: true });
    expect(status?.key).not.toBe(machineKey);
    expect(sim.requestsTo('GET /machine_status')[0]?.query.filter).toBe(`machine eq ${machineKey}`);
    expect(await client.machineStatus('99999')).toBeUndefined();
  });

  it('finds a live VM by name and ignores snapshots of the same name', async () => {
    const { vmKey, machineKey } = await client.createVm({ name: 'lookup-me' });
    expect(await client.findVmByName('lookup-me')).toMatchObject({ key: vmKey, machineKey, name: 'lookup-me' });
    expect(await client.findVmByName('web-template')).toBeUndefined(); // only a snapshot has it
    expect(await client.findVmByName('nobody')).toBeUndefined();
    expect(sim.requestsTo('GET /vms')[0]?.query.filter).toBe("name eq 'lookup-me' and is_snapshot eq false");
    await expect(client.findVmByName("o'brien")).rejects.toMatchObject({ code: 'VERGEOS_VALIDATION' });
  });

  it('deletes a VM with its drives, NICs and devices, and frees the tier space it was allocated', async () => {
    const before = (await client.listStorageTiers()).find((t) => t.tier === '1')!;
    const { vmKey, machineKey } = await client.createVm({ name: 'doomed' });
    await client.addDrive({ machine: machineKey, media: 'disk', disksize: 10 * GIB, preferred_tier: '1' });
    await client.addNic({ machine: machineKey, vnet: '4' });
    await client.addDevice({ machine: machineKey, type: 'node_host_gpu_devices', resource_group: GPU_RESOURCE_GROUP });
    // A blank disk is thin: allocated at once, nothing written yet.
    expect((await client.listStorageTiers()).find((t) => t.tier === '1')).toMatchObject({ free: before.free, allocated: before.allocated + 10 * GIB });

    await client.deleteVm(vmKey);
    expect(await client.findVmByName('doomed')).toBeUndefined();
    expect(await client.listDrives(machineKey)).toEqual([]);
    expect(await client.listNics(machineKey)).toEqual([]);
    expect(await client.listDevices(machineKey)).toEqual([]);
    expect((await client.listStorageTiers()).find((t) => t.tier === '1')).toMatchObject({ free: before.free, allocated: before.allocated });
    const gone = await vergeosFailure(client.getVm(vmKey));
    expect(gone.code).toBe('VERGEOS_NOT_FOUND');
  });

  it('lists what a request form needs, keys as strings', async () => {
    const clusters = await client.listClusters();
    expect(clusters.map((c) => [c.key, c.name, c.enabled])).toEqual([
      ['1', 'Cluster1', true],
      ['2', 'GPU-Cluster', true],
      ['3', 'Retired', false],
    ]);
    expect(clusters[0]?.maxCoresPerVm).toBe(128);
    const vnets = await client.listVnets();
    expect(vnets.find((n) => n.key === '3')).toEqual({
      key: '3',
      name: 'External',
      description: 'Uplink to the corporate network',
      type: 'external',
      enabled: true,
    });
    const files = await client.listMediaFiles();
    expect(
      files
        .filter((f) => f.type === 'iso')
        .map((f) => f.key)
        .sort(),
    ).toEqual(['10', '7', '8', '9']);
    expect(files.find((f) => f.key === '123')?.type).toBe('qcow2');
    const tiers = await client.listStorageTiers();
    expect(tiers.map((t) => t.tier)).toEqual(['1', '2', '3']);
    expect(tiers[2]?.free).toBe(80 * GIB);
    const groups = await client.listResourceGroups();
    expect(groups.find((g) => g.uuid === GPU_RESOURCE_GROUP)).toMatchObject({ key: '1', type: 'node_host_gpu_devices', enabled: true });
    expect(groups.find((g) => g.uuid === DISABLED_RESOURCE_GROUP)?.enabled).toBe(false);
    const vgpus = await client.listVgpuDevices();
    expect(vgpus).toEqual([
      { key: '1', node: '2', name: 'NVIDIA A40-8Q', slot: '0000:41:00.0', vendor: 'NVIDIA Corporation', device: 'GA102GL [A40]', maxInstances: 6 },
    ]);
    expect(await client.systemInfo()).toEqual({ version: '26.1.8', osVersion: '26.1.8', cloudName: 'vergeos-sim' });
    expect(sim.requestsTo('GET /system')[0]?.query.fields).toBe('$key,yb_version,os_version,cloud_name');
    // Lists ask for their fields explicitly and everything (limit=0).
    expect(sim.requestsTo('GET /storage_tiers')[0]?.query).toMatchObject({ limit: '0', fields: '$key,tier,description,capacity,used,allocated' });
  });

  it('authenticates with HTTP Basic as well as an API key', async () => {
    const basic = new VergeosClient({ url: sim.url, auth: SIM_DEFAULT_USER });
    try {
      expect((await basic.listClusters()).length).toBe(3);
    } finally {
      await basic.close();
    }
  });

  it('keeps at most maxInFlight requests in flight', async () => {
    sim.faults.add({ route: 'GET /clusters', latencyMs: 40 });
    const narrow = new VergeosClient({ url: sim.url, auth: { apiKey: 'sim-admin-key' }, maxInFlight: 3 });
    try {
      await Promise.all(Array.from({ length: 12 }, () => narrow.listClusters()));
    } finally {
      await narrow.close();
    }
    expect(sim.requestsTo('GET /clusters')).toHaveLength(12);
    expect(sim.peakInFlight).toBe(3);
  });
});

describe('VergeosClient errors', () => {
  let sim: VergeosSim;
  let client: VergeosClient;
  let close: () => Promise<void>;

  beforeEach(async () => {
    ({ sim, client, close } = await simAndClient());
  });
  afterEach(() => close());

  it('409 "already in use" is VERGEOS_NAME_TAKEN', async () => {
    await client.createVm({ name: 'dup' });
    const err = await vergeosFailure(client.createVm({ name: 'dup' }));
    expect(err).toMatchObject({ code: 'VERGEOS_NAME_TAKEN', status: 409, endpoint: 'POST /api/v4/vms', retrySafe: false, outcomeUnknown: false });
    expect(err.vergeosMessage).toBe("The name 'dup' is already in use");
    expect(operatorMessage(err)).toMatch(/already exists.*pick another name/);
  });

  it('422 "already in use" (older releases) is VERGEOS_NAME_TAKEN too', async () => {
    const old = await simAndClient({ behaviour: { nameTakenStatus: 422 } });
    try {
      await old.client.createVm({ name: 'dup' });
      const err = await vergeosFailure(old.client.createVm({ name: 'dup' }));
      expect(err).toMatchObject({ code: 'VERGEOS_NAME_TAKEN', status: 422 });
    } finally {
      await old.close();
    }
  });

  it('507 is VERGEOS_TIER_FULL', async () => {
    const { machineKey } = await client.createVm({ name: 'big' });
    const err = await vergeosFailure(client.addDrive({ machine: machineKey, media: 'disk', disksize: 90 * GIB, preferred_tier: '3' }));
    expect(err).toMatchObject({
      code: 'VERGEOS_TIER_FULL',
      status: 507,
      endpoint: 'POST /api/v4/machine_drives',
      vergeosMessage: 'Insufficient storage on tier 3',
    });
    expect(operatorMessage(err)).toMatch(/storage tier is full/);
  });

  it('429 on a read is waited out for its Retry-After and asked again; a 429 on a POST is not re-sent', async () => {
    sim.faults.add({ route: 'GET /machine_drives', nth: 1, status: 429, retryAfter: 1 });
    const started = performance.now();
    expect(await client.listDrives('999')).toEqual([]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(sim.requestsTo('GET /machine_drives').map((r) => r.outcome)).toEqual([429, 200]);

    sim.faults.add({ route: 'POST /vms', nth: 1, status: 429, retryAfter: 1 });
    const err = await vergeosFailure(client.createVm({ name: 'limited' }));
    expect(err).toMatchObject({ code: 'VERGEOS_RATE_LIMITED', status: 429, retryAfterMs: 1000, retrySafe: false, outcomeUnknown: true });
    expect(sim.requestsTo('POST /vms')).toHaveLength(1);
    expect(operatorMessage(err)).toMatch(/^VergeOS is rate-limiting the bot's API key \(429\)/);
  });

  it('429 asking for longer than the bot waits fails at once, saying how long', async () => {
    sim.faults.add({ route: 'GET /files', nth: 1, status: 429, retryAfter: 120 });
    const err = await vergeosFailure(client.listMediaFiles());
    expect(err).toMatchObject({ code: 'VERGEOS_RATE_LIMITED', retryAfterMs: 120_000, retrySafe: true });
    expect(sim.requestsTo('GET /files')).toHaveLength(1);
  });

  it('401 is VERGEOS_UNAUTHORIZED and is never retried, even on a GET', async () => {
    const wrong = new VergeosClient({ url: sim.url, auth: { apiKey: 'not-a-key' }, retry: { retries: 3, baseMs: 1, maxMs: 2 } });
    try {
      const err = await vergeosFailure(wrong.listClusters());
      expect(err).toMatchObject({ code: 'VERGEOS_UNAUTHORIZED', status: 401, retrySafe: false });
      expect(sim.requestsTo('GET /clusters')).toHaveLength(1);
    } finally {
      await wrong.close();
    }
  });

  it('403 is VERGEOS_FORBIDDEN (a read-only key trying to create)', async () => {
    const readonly = new VergeosClient({ url: sim.url, auth: { apiKey: SIM_READONLY_API_KEY } });
    try {
      expect((await readonly.listVnets()).length).toBeGreaterThan(0);
      const err = await vergeosFailure(readonly.createVm({ name: 'nope' }));
      expect(err).toMatchObject({ code: 'VERGEOS_FORBIDDEN', status: 403, vergeosMessage: 'Permission denied' });
    } finally {
      await readonly.close();
    }
  });

  it('404 is VERGEOS_NOT_FOUND, naming the missing cluster, vnet, media, resource group or machine', async () => {
    const { machineKey } = await client.createVm({ name: 'x2' });
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => client.createVm({ name: 'x1', cluster: '99' }), "Cluster '99' not found"],
      [() => client.addNic({ machine: '99999', vnet: '3' }), "Machine '99999' not found"],
      [() => client.addNic({ machine: machineKey, vnet: '77' }), "Network '77' not found"],
      [() => client.addDrive({ machine: machineKey, media: 'cdrom', media_source: '404' }), "Media source '404' not found"],
      [
        () => client.addDevice({ machine: machineKey, type: 'node_pci_devices', resource_group: '00000000-0000-0000-0000-000000000000' }),
        "Resource group '00000000-0000-0000-0000-000000000000' not found",
      ],
    ];
    for (const [call, said] of cases) {
      const err = await vergeosFailure(call());
      expect(err).toMatchObject({ code: 'VERGEOS_NOT_FOUND', status: 404, vergeosMessage: said });
    }
  });

  it("400 and 422 (other than a taken name) are VERGEOS_VALIDATION with VergeOS's text", async () => {
    const { machineKey } = await client.createVm({ name: 'v1' });
    const badInterface = await vergeosFailure(client.addDrive({ machine: machineKey, media: 'disk', disksize: GIB, interface: 'scsi-9000' }));
    expect(badInterface).toMatchObject({ code: 'VERGEOS_VALIDATION', status: 422, vergeosMessage: "Invalid drive interface 'scsi-9000'" });
    const badMedia = await vergeosFailure(client.addDrive({ machine: machineKey, media: 'floppy' }));
    expect(badMedia).toMatchObject({ code: 'VERGEOS_VALIDATION', status: 422, vergeosMessage: "Unsupported media type 'floppy'" });
    const noSize = await vergeosFailure(client.addDrive({ machine: machineKey, media: 'disk' }));
    expect(noSize).toMatchObject({ code: 'VERGEOS_VALIDATION', status: 400 });
    const badNic = await vergeosFailure(client.addNic({ machine: machineKey, vnet: '3', interface: 'token-ring' }));
    expect(badNic).toMatchObject({ code: 'VERGEOS_VALIDATION', status: 422 });
    expect(operatorMessage(badNic)).toBe(`VergeOS refused a value in the request. VergeOS said: "Invalid NIC interface 'token-ring'".`);
  });

  it('409 for state (power on while a drive imports) is VERGEOS_CONFLICT', async () => {
    const { vmKey, machineKey } = await client.createVm({ name: 'imp' });
    await client.addDrive({ machine: machineKey, media: 'import', media_source: '123', preferred_tier: '2' });
    expect((await client.listDrives(machineKey))[0]?.status).toBe('importing');
    const err = await vergeosFailure(client.powerOn(vmKey));
    expect(err).toMatchObject({ code: 'VERGEOS_CONFLICT', status: 409 });
    await new Promise((r) => setTimeout(r, 200));
    expect((await client.listDrives(machineKey))[0]?.status).toBe('online');
    await client.powerOn(vmKey);
    expect((await client.machineStatus(machineKey))?.running).toBe(true);
  });

  it('5xx on a GET is retried with backoff until it passes', async () => {
    sim.faults.add({ route: 'GET /vnets', nth: 1, times: 2, status: 503 });
    const vnets = await client.listVnets();
    expect(vnets.length).toBe(5);
    expect(sim.requestsTo('GET /vnets').map((r) => r.outcome)).toEqual([503, 503, 200]);
  });

  it('gives up after the retries with VERGEOS_UNAVAILABLE, and a non-JSON body still reads clearly', async () => {
    sim.faults.add({ route: 'GET /clusters', status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' });
    const err = await vergeosFailure(client.listClusters());
    expect(err).toMatchObject({ code: 'VERGEOS_UNAVAILABLE', status: 502, retrySafe: true });
    expect(err.vergeosMessage).toBe('<html><body><h1>502 Bad Gateway</h1></body></html>');
    expect(sim.requestsTo('GET /clusters')).toHaveLength(3); // 1 + 2 retries
  });

  it('an empty error body still gives a clear error', async () => {
    sim.faults.add({ route: 'POST /vms', nth: 1, status: 500, body: null });
    const err = await vergeosFailure(client.createVm({ name: 'e1' }));
    expect(err).toMatchObject({
      code: 'VERGEOS_SERVER_ERROR',
      status: 500,
      vergeosMessage: 'HTTP 500 with an empty body',
      outcomeUnknown: true,
      retrySafe: false,
    });
    expect(err.message).toBe('VERGEOS_SERVER_ERROR 500 on POST /api/v4/vms: HTTP 500 with an empty body');
    expect(sim.requestsTo('POST /vms')).toHaveLength(1);
  });

  it('a dropped connection on a GET is retried', async () => {
    sim.faults.add({ route: 'GET /files', nth: 1, drop: true });
    const files = await client.listMediaFiles();
    expect(files.length).toBe(6);
    expect(sim.requestsTo('GET /files').map((r) => r.outcome)).toEqual(['dropped', 200]);
  });

  it('a dropped connection on a POST is not retried, and says the outcome is unknown', async () => {
    sim.faults.add({ route: 'POST /vms', nth: 1, drop: true, commit: true });
    const err = await vergeosFailure(client.createVm({ name: 'maybe-created' }));
    expect(err).toMatchObject({ code: 'VERGEOS_UNAVAILABLE', status: undefined, retrySafe: false, outcomeUnknown: true });
    expect(sim.requestsTo('POST /vms')).toHaveLength(1);
    // The VM does exist: a caller looks it up instead of re-sending.
    expect(await client.findVmByName('maybe-created')).toMatchObject({ name: 'maybe-created' });
  });

  it('a server that hangs past the timeout gives VERGEOS_TIMEOUT (GET retried, POST not)', async () => {
    sim.faults.add({ route: 'GET /storage_tiers', nth: 1, hang: true });
    const tiers = await client.listStorageTiers();
    expect(tiers.length).toBe(3);
    expect(sim.requestsTo('GET /storage_tiers').map((r) => r.outcome)).toEqual(['hung', 200]);

    sim.faults.add({ route: 'POST /machine_nics', hang: true });
    const { machineKey } = await client.createVm({ name: 't1' });
    const err = await vergeosFailure(client.addNic({ machine: machineKey, vnet: '3' }));
    expect(err).toMatchObject({ code: 'VERGEOS_TIMEOUT', transportCode: 'UND_ERR_HEADERS_TIMEOUT', outcomeUnknown: true, retrySafe: false });
    expect(sim.requestsTo('POST /machine_nics')).toHaveLength(1);
  });

  it('a DELETE whose answer was lost is retried, and finding the VM gone counts as done', async () => {
    const { vmKey } = await client.createVm({ name: 'lost-answer' });
    sim.faults.add({ route: 'DELETE /vms/:key', nth: 1, drop: true, commit: true });
    await client.deleteVm(vmKey);
    expect(sim.requestsTo('DELETE /vms/:key').map((r) => r.outcome)).toEqual(['dropped', 404]);
    // A first-attempt 404 is still an error.
    expect((await vergeosFailure(client.deleteVm(vmKey))).code).toBe('VERGEOS_NOT_FOUND');
  });

  it('DELETE answered with 204 (some releases) succeeds', async () => {
    const s = await simAndClient({ behaviour: { deleteStatus: 204 } });
    try {
      const { vmKey } = await s.client.createVm({ name: 'gone-204' });
      await s.client.deleteVm(vmKey);
      expect(s.sim.requestsTo('DELETE /vms/:key')[0]?.outcome).toBe(204);
    } finally {
      await s.close();
    }
  });

  it('refuses to delete a running VM with VERGEOS_CONFLICT', async () => {
    const { vmKey } = await client.createVm({ name: 'busy' });
    await client.powerOn(vmKey);
    expect((await vergeosFailure(client.deleteVm(vmKey))).code).toBe('VERGEOS_CONFLICT');
    await client.vmAction(vmKey, 'kill');
    await client.deleteVm(vmKey);
  });

  it('a success body that is not JSON, or lacks the machine key of a VM that cannot be read, is VERGEOS_BAD_RESPONSE', async () => {
    sim.faults.add({ route: 'GET /clusters', status: 200, body: 'Welcome to nginx!' });
    const notJson = await vergeosFailure(client.listClusters());
    expect(notJson).toMatchObject({ code: 'VERGEOS_BAD_RESPONSE', status: 200, vergeosMessage: 'not JSON: Welcome to nginx!' });
    sim.faults.add({ route: 'POST /vms', nth: 1, status: 201, body: { $key: '77', location: '/v4/vms/77' } });
    const noMachine = await vergeosFailure(client.createVm({ name: 'half' }));
    expect(noMachine).toMatchObject({ code: 'VERGEOS_BAD_RESPONSE', outcomeUnknown: true, retrySafe: false });
    expect(noMachine.vergeosMessage).toMatch(/^response/);
  });

  it('a created VM without response.machine: its machine key is read from the $key given, as VergeOS’s clients do', async () => {
    const first = await client.createVm({ name: 'keyed-1' });
    const next = String(Number(first.vmKey) + 1);
    sim.faults.add({ route: 'POST /vms', nth: 1, status: 201, body: { $key: next, location: `/v4/vms/${next}` }, commit: true });
    const second = await client.createVm({ name: 'keyed-2' });
    const made = sim.state.table('vms').get(next)!;
    expect(made.name).toBe('keyed-2');
    expect(second).toEqual({ vmKey: next, machineKey: String(made.machine) });
    expect(sim.requestsTo('GET /vms/:key').at(-1)!.path).toBe(`/api/v4/vms/${next}`);
    expect(sim.requestsTo('POST /vms').filter((r) => (r.body as { name: string }).name === 'keyed-2')).toHaveLength(1);
  });

  it('a refused connection is VERGEOS_UNAVAILABLE and safe to retry (nothing was sent)', async () => {
    const port = sim.port;
    await close();
    const dead = new VergeosClient({ url: `http://127.0.0.1:${port}`, auth: { apiKey: 'sim-admin-key' }, retry: { retries: 1, baseMs: 1, maxMs: 1 } });
    try {
      const err = await vergeosFailure(dead.createVm({ name: 'nobody-home' }));
      expect(err).toMatchObject({ code: 'VERGEOS_UNAVAILABLE', transportCode: 'ECONNREFUSED', retrySafe: true, outcomeUnknown: false });
    } finally {
      await dead.close();
    }
    ({ sim, client, close } = await simAndClient());
  });
});
