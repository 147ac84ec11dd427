/** The simulator as a raw HTTP peer: shapes, status codes, auth, joins, faults and control endpoints. */
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { VMBOT_FROM_SOURCE } from '../../src/demo/workspace.js';
import { GPU_RESOURCE_GROUP, SIM_DEFAULT_API_KEY, startVergeosSim, type VergeosSim } from '../../src/sim/index.js';

const AUTH = { authorization: `Bearer ${SIM_DEFAULT_API_KEY}` };

async function call(sim: VergeosSim, method: 'GET' | 'POST' | 'DELETE' | 'PUT', path: string, body?: unknown, headers: Record<string, string> = AUTH) {
  const res = await request(`${sim.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
}

describe('VergeOS simulator', () => {
  let sim: VergeosSim;
  // The simulator's clock: power states and imports move only when a test moves it.
  let now: number;
  beforeEach(async () => {
    now = Date.parse('2026-01-05T09:00:00Z');
    sim = await startVergeosSim({ timing: { importMs: 100, startMs: 60, stopMs: 60 }, clock: () => now });
  });
  afterEach(() => sim.close());

  it('answers VM create with 201, $key as a string and response.machine from another counter', async () => {
    const a = await call(sim, 'POST', '/api/v4/vms', { name: 'a' });
    const b = await call(sim, 'POST', '/api/v4/vms', { name: 'b' });
    expect(a.status).toBe(201);
    expect(a.json).toEqual({
      location: `/v4/vms/${a.json.$key}`,
      dbpath: `vms/${a.json.$key}`,
      $row: Number(a.json.$key),
      $key: expect.any(String),
      response: { machine: expect.any(String) },
    });
    expect(Number(b.json.$key) - Number(a.json.$key)).toBe(1);
    expect(a.json.response.machine).not.toBe(a.json.$key);
    // Lists carry numeric keys, as VergeOS often does.
    const list = await call(sim, 'GET', `/api/v4/vms?filter=${encodeURIComponent("name eq 'a'")}`);
    expect(list.json[0].$key).toBe(Number(a.json.$key));
    expect(list.json[0]).not.toHaveProperty('_ready_at');
  });

  it('checks auth: 401 without a key and with a wrong one', async () => {
    expect(await call(sim, 'GET', '/api/v4/clusters', undefined, {})).toEqual({ status: 401, json: { err: 'Authentication required' } });
    expect(await call(sim, 'GET', '/api/v4/clusters', undefined, { authorization: 'Bearer nope' })).toEqual({
      status: 401,
      json: { err: 'Invalid credentials' },
    });
    expect(await call(sim, 'GET', '/api/v4/clusters', undefined, { authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` })).toMatchObject({
      status: 401,
    });
  });

  it('refuses bad JSON, unknown tables and wrong methods', async () => {
    expect(await call(sim, 'POST', '/api/v4/vms', '{nope')).toEqual({ status: 400, json: { err: 'Invalid JSON in request body' } });
    expect((await call(sim, 'GET', '/api/v4/unicorns')).status).toBe(404);
    expect((await call(sim, 'PUT', '/api/v4/clusters')).status).toBe(405);
    expect((await call(sim, 'GET', `/api/v4/vms?filter=${encodeURIComponent("name eq 'x")}`)).status).toBe(400);
  });

  it('validates VM fields like VergeOS (ram, cores, enums, cloud-init size, disabled cluster)', async () => {
    const cases: Array<[object, number, string]> = [
      [{}, 400, "Missing required field 'name'"],
      [{ name: 'r', ram: 100 }, 400, "Invalid value for 'ram': 100"],
      [{ name: 'c', cpu_cores: 0 }, 400, "Invalid value for 'cpu_cores': 0"],
      [{ name: 'v', video: 'hdmi' }, 422, "Invalid value 'hdmi' for field 'video'"],
      [{ name: 'd', cluster: '3' }, 422, "Cluster 'Retired' is disabled"],
      [{ name: 'ci', cloudinit_files: [{ name: 'user-data', contents: 'x'.repeat(64 * 1024 + 1) }] }, 422, "Cloud-init file 'user-data' exceeds 64KB"],
    ];
    for (const [body, status, err] of cases) expect(await call(sim, 'POST', '/api/v4/vms', body)).toEqual({ status, json: { err } });
  });

  it('refuses a disabled resource group and a clone without a source', async () => {
    const vm = await call(sim, 'POST', '/api/v4/vms', { name: 'dev' });
    const machine = vm.json.response.machine;
    expect(
      await call(sim, 'POST', '/api/v4/machine_devices', { machine, type: 'node_usb_devices', resource_group: 'a3e9b1c7-0d4f-4e2a-8b6c-1f9d7e5a3c20' }),
    ).toEqual({ status: 422, json: { err: "Resource group 'USB license dongle' is disabled" } });
    expect(await call(sim, 'POST', '/api/v4/machine_drives', { machine, media: 'clone' })).toEqual({
      status: 400,
      json: { err: "Media type 'clone' requires 'media_source'" },
    });
    expect(
      (await call(sim, 'POST', '/api/v4/machine_devices', { machine, type: 'node_host_gpu_devices', resource_group: GPU_RESOURCE_GROUP })).json.response.uuid,
    ).toMatch(/-/);
  });

  it('devices as the official clients send them: type required and matching the group, TPMs without a group, groups by uuid or key', async () => {
    const vm = await call(sim, 'POST', '/api/v4/vms', { name: 'win' });
    const machine = vm.json.response.machine;
    const post = (body: Record<string, unknown>) => call(sim, 'POST', '/api/v4/machine_devices', { machine, ...body });
    expect(await post({ resource_group: GPU_RESOURCE_GROUP })).toEqual({ status: 400, json: { err: "Missing required field 'type'" } });
    expect(await post({ type: 'node_pci_devices', resource_group: GPU_RESOURCE_GROUP })).toEqual({
      status: 422,
      json: { err: "Device type 'node_pci_devices' does not match resource group 'NVIDIA A40 (passthrough)' (node_host_gpu_devices)" },
    });
    expect(await post({ type: 'tpm', resource_group: GPU_RESOURCE_GROUP })).toEqual({ status: 422, json: { err: 'A TPM device takes no resource group' } });
    expect(await post({ type: 'node_host_gpu_devices' })).toEqual({ status: 400, json: { err: "Missing required field 'resource_group'" } });
    expect((await post({ type: 'tpm' })).status).toBe(201);
    expect(await post({ type: 'tpm' })).toEqual({ status: 409, json: { err: "Machine 'win' already has a TPM" } });
    // By key, as pyVergeOS sends it: the same group.
    expect((await post({ type: 'node_nvidia_vgpu_devices', resource_group: 2, settings_args: { frame_rate_limiter: 60 } })).status).toBe(201);
    const fields = encodeURIComponent('type,resource_group,resource_group#uuid as group_uuid,resource_group#name as group_name');
    const rows = (await call(sim, 'GET', `/api/v4/machine_devices?filter=${encodeURIComponent(`machine eq ${machine}`)}&fields=${fields}`)).json;
    expect(rows).toEqual([
      { type: 'tpm', resource_group: null, group_uuid: null, group_name: null },
      { type: 'node_nvidia_vgpu_devices', resource_group: 2, group_uuid: '7d1c2f40-3b9e-4a51-9c0e-5f2a8b6d4e13', group_name: 'NVIDIA A40-8Q vGPU' },
    ]);
  });

  it("EFI disks take no size or source; a drive's raw status is a key, its text comes through status#status", async () => {
    const vm = await call(sim, 'POST', '/api/v4/vms', { name: 'efi', uefi: 'true' });
    const machine = vm.json.response.machine;
    expect(await call(sim, 'POST', '/api/v4/machine_drives', { machine, media: 'efidisk', disksize: 1024 ** 3 })).toEqual({
      status: 422,
      json: { err: "An EFI disk cannot have 'disksize': VergeOS creates its UEFI variable store itself" },
    });
    expect((await call(sim, 'POST', '/api/v4/machine_drives', { machine, media: 'efidisk', name: 'EFI' })).status).toBe(201);
    expect((await call(sim, 'POST', '/api/v4/machine_drives', { machine, media: 'import', media_source: 123, name: 'Image' })).status).toBe(201);
    const read = async (fields: string) =>
      (await call(sim, 'GET', `/api/v4/machine_drives?filter=${encodeURIComponent(`machine eq ${machine}`)}&fields=${encodeURIComponent(fields)}`)).json;
    const raw = await read('name,status');
    expect(raw.map((d: { status: unknown }) => typeof d.status)).toEqual(['number', 'number']);
    expect(await read('name,status#status as status')).toEqual([
      { name: 'EFI', status: 'online' },
      { name: 'Image', status: 'importing' },
    ]);
    now += 99; // the import takes 100 ms of the simulator's clock
    expect((await read('name,status#status as status'))[1]).toEqual({ name: 'Image', status: 'importing' });
    now += 1;
    expect((await read('name,status#status as status'))[1]).toEqual({ name: 'Image', status: 'online' });
  });

  it('serves GET /system, and answers 429 with Retry-After when told to', async () => {
    expect((await call(sim, 'GET', '/api/v4/system?fields=$key,yb_version,cloud_name')).json).toEqual([
      { $key: 1, yb_version: '26.1.8', cloud_name: 'vergeos-sim' },
    ]);
    sim.faults.add({ route: 'GET /vms', nth: 1, status: 429, retryAfter: 2 });
    const res = await fetch(`${sim.url}/api/v4/vms`, { headers: AUTH });
    expect([res.status, res.headers.get('retry-after'), await res.json()]).toEqual([
      429,
      '2',
      { err: 'Too many requests: this API key is over its request budget' },
    ]);
  });

  it('walks power states over time and joins status into VM rows', async () => {
    const vm = await call(sim, 'POST', '/api/v4/vms', { name: 'pw' });
    const key = vm.json.$key;
    const fields = encodeURIComponent('$key,machine#status#status as status,machine#status#running as running');
    const state = async () => (await call(sim, 'GET', `/api/v4/vms/${key}?fields=${fields}`)).json;
    expect(await state()).toEqual({ $key: Number(key), status: 'stopped', running: false });
    expect((await call(sim, 'POST', '/api/v4/vm_actions', { vm: Number(key), action: 'poweron', params: {} })).status).toBe(201);
    expect((await state()).status).toBe('starting');
    now += 59; // 1 ms before the 60 ms start is over
    expect(await state()).toEqual({ $key: Number(key), status: 'starting', running: false });
    now += 1;
    expect(await state()).toEqual({ $key: Number(key), status: 'running', running: true });
    expect(await call(sim, 'POST', '/api/v4/vm_actions', { vm: key, action: 'poweron' })).toEqual({ status: 409, json: { err: "VM 'pw' is already running" } });
    await call(sim, 'POST', '/api/v4/vm_actions', { vm: key, action: 'poweroff' });
    expect((await state()).status).toBe('stopping');
    expect((await call(sim, 'DELETE', `/api/v4/vms/${key}`)).status).toBe(409);
    now += 59;
    expect((await state()).status).toBe('stopping');
    now += 1;
    expect((await state()).status).toBe('stopped');
    expect((await call(sim, 'DELETE', `/api/v4/vms/${key}`)).status).toBe(200);
    expect((await call(sim, 'GET', `/api/v4/vms/${key}`)).status).toBe(404);
  });

  it('takes faults and serves its request log through control endpoints (for other processes)', async () => {
    expect((await call(sim, 'POST', '/__sim/faults', [{ route: 'GET /clusters', nth: 2, status: 503 }])).status).toBe(201);
    expect((await call(sim, 'POST', '/__sim/faults', { route: 'GET /clusters', status: 200, drop: true })).status).toBe(400);
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push((await call(sim, 'GET', '/api/v4/clusters')).status);
    expect(outcomes).toEqual([200, 503, 200]);
    const log = await call(sim, 'GET', '/__sim/requests');
    expect(log.json.map((r: { route: string; outcome: number }) => `${r.route} ${r.outcome}`)).toEqual([
      'GET /clusters 200',
      'GET /clusters 503',
      'GET /clusters 200',
    ]);
    await call(sim, 'POST', '/api/v4/vms', { name: 'before-reset' });
    await call(sim, 'POST', '/__sim/reset');
    expect(sim.requests).toEqual([]);
    expect((await call(sim, 'GET', `/api/v4/vms?filter=${encodeURIComponent("name eq 'before-reset'")}`)).json).toEqual([]);
  });

  it('adds per-route latency', async () => {
    sim.faults.add({ route: 'GET /vnets', latencyMs: 120 });
    const started = performance.now();
    await call(sim, 'GET', '/api/v4/vnets');
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
  });
});

describe('vmbot sim', () => {
  it('runs the simulator as a command and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [...VMBOT_FROM_SOURCE, 'sim', '--port', '0', '--import-ms', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`vmbot sim exited early (${code})`)));
    });
    const res = await request(`${url}/api/v4/clusters`, { headers: AUTH });
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as unknown[]).length).toBe(3);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
