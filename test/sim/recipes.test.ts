/**
 * The simulator's VergeOS recipes as a raw HTTP peer: catalogs and recipes with their joins,
 * sections and questions stored as VergeOS sends them, a simulation (405 "Simulation complete"
 * with cloud-init, logs and resolved answers; refused answers as "Error executing recipe" lines;
 * nothing created), a deploy that builds a real VM from the answers, the instance read back with
 * its answers as a JSON string without dont_store ones, and a `commit: true` fault on the POST.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import {
  GIB,
  LAB_CATALOG_KEY,
  LOCAL_CATALOG_KEY,
  ROCKY_RECIPE_KEY,
  SIM_DEFAULT_API_KEY,
  startVergeosSim,
  UBUNTU_RECIPE_KEY,
  WINDOWS_RECIPE_KEY,
  type VergeosSim,
} from '../../src/sim/index.js';

const AUTH = { authorization: `Bearer ${SIM_DEFAULT_API_KEY}` };
type Json = Record<string, unknown>;
const PASSWORD = 'Tr0ub4dor&3-sim';

async function call(sim: VergeosSim, method: 'GET' | 'POST' | 'DELETE' | 'PUT', path: string, body?: unknown) {
  const res = await request(`${sim.url}/api/v4${path}`, { method, headers: AUTH, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, json: (text ? JSON.parse(text) : undefined) as Json & Json[] };
}

const query = (params: Record<string, string>) => `?${new URLSearchParams(params).toString()}`;
const ubuntuAnswers = (extra: Json = {}) => ({ YB_HOSTNAME: 'web-01', YB_PASSWORD: PASSWORD, ...extra });

describe('VergeOS simulator: recipes', () => {
  let sim: VergeosSim;
  const liveVms = async () => (await call(sim, 'GET', `/vms${query({ filter: 'is_snapshot eq false', fields: '$key,name' })}`)).json;

  beforeEach(async () => {
    sim = await startVergeosSim({ timing: { importMs: 0, startMs: 0, stopMs: 0 } });
  });
  afterEach(() => sim.close());

  it('lists downloaded recipes with their catalog joined and instance counts; catalogs have 40-hex keys equal to their id', async () => {
    const fields = '$key,id,name,version,catalog,catalog#name as catalog_name,downloaded,count(instances) as instances';
    const all = await call(sim, 'GET', `/vm_recipes${query({ fields, sort: '+name' })}`);
    expect(all.json.map((r) => [r.name, r.downloaded])).toEqual([
      ['Debian 12 Minimal', true],
      ['Rocky Linux 9', false],
      ['Ubuntu Server 24.04', true],
      ['Windows Server 2022', true],
    ]);
    const downloaded = await call(sim, 'GET', `/vm_recipes${query({ filter: 'downloaded eq 1', fields, sort: '+name' })}`);
    expect(downloaded.json.map((r) => r.name)).toEqual(['Debian 12 Minimal', 'Ubuntu Server 24.04', 'Windows Server 2022']);
    const ubuntu = downloaded.json.find((r) => r.name === 'Ubuntu Server 24.04')!;
    expect(ubuntu).toEqual({
      $key: UBUNTU_RECIPE_KEY,
      id: UBUNTU_RECIPE_KEY,
      name: 'Ubuntu Server 24.04',
      version: '1.4',
      catalog: LOCAL_CATALOG_KEY,
      catalog_name: 'Local Catalog',
      downloaded: true,
      instances: 0,
    });
    expect(UBUNTU_RECIPE_KEY).toMatch(/^[0-9a-f]{40}$/);
    const lab = await call(sim, 'GET', `/vm_recipes${query({ filter: `catalog eq '${LAB_CATALOG_KEY}' and downloaded eq 1`, fields: 'name' })}`);
    expect(lab.json).toEqual([{ name: 'Debian 12 Minimal' }]);
    const catalogs = await call(sim, 'GET', `/catalogs${query({ fields: '$key,id,name,repository#type as repository_type', sort: '+name' })}`);
    expect(catalogs.json.map((c) => [c.name, c.repository_type, c.$key === c.id])).toEqual([
      ['Lab Catalog', 'local', true],
      ['Local Catalog', 'local', true],
      ['Marketplace', 'yottabyte', true],
    ]);
  });

  it('serves sections by recipe ref in order and questions with every stored field, types and aliases as VergeOS stores them', async () => {
    const sections = await call(sim, 'GET', `/recipe_sections${query({ filter: `recipe eq 'vm_recipes/${UBUNTU_RECIPE_KEY}'`, sort: '+orderid' })}`);
    expect(sections.json.map((s) => s.name)).toEqual(['Virtual Machine', 'Network', 'Login', '$database']);
    const questions = await call(sim, 'GET', `/recipe_questions${query({ filter: `recipe eq 'vm_recipes/${UBUNTU_RECIPE_KEY}'`, sort: 'orderid' })}`);
    expect(questions.json.map((q) => [q.name, q.type])).toEqual([
      ['YB_CPU_CORES', 'num'],
      ['YB_RAM', 'ram'],
      ['YB_DRIVE_OS_SIZE', 'disksize'],
      ['YB_QEMU_AGENT', 'bool'],
      ['YB_HOSTNAME', 'hostname'],
      ['YB_NIC_ETH0', 'network'],
      ['YB_IP_ADDR_TYPE', 'list'],
      ['YB_IP_ADDR', 'string'],
      ['YB_USER', 'string'],
      ['YB_PASSWORD', 'password'],
      ['YB_CLOUDINIT_EXTRA', 'textarea'],
      ['OS_DL_URL', 'hidden'],
      ['DB_VM_ROW', 'database_create'],
    ]);
    const fields = Object.keys(questions.json[0]!).sort();
    for (const field of ['recipe', 'section', 'display', 'hint', 'help', 'note', 'default', 'required', 'enabled', 'readonly', 'orderid', 'min', 'max'])
      expect(fields).toContain(field);
    for (const field of ['regex', 'list', 'table', 'fields', 'filter', 'database_context', 'hide_none', 'conditions', 'on_change', 'postprocess_string'])
      expect(fields).toContain(field);
    expect(fields).toEqual(expect.arrayContaining(['dont_store', 'system', '$key', 'name', 'type']));
    const byName = new Map(questions.json.map((q) => [q.name, q]));
    expect(byName.get('YB_RAM')).toMatchObject({ min: '1024', max: 262_144, default: 4096, required: true });
    expect(byName.get('YB_IP_ADDR_TYPE')!.list).toBe('{"dhcp":"DHCP","static":"Static"}');
    expect(byName.get('YB_PASSWORD')).toMatchObject({ dont_store: true, min: 8, max: 0 });
    const joined = await call(
      sim,
      'GET',
      `/recipe_questions${query({ filter: `recipe eq 'vm_recipes/${WINDOWS_RECIPE_KEY}'`, sort: 'orderid', fields: 'name,type,table,filter,list,section#name as section_name' })}`,
    );
    expect(joined.json.map((q) => [q.name, q.type, q.section_name])).toEqual([
      ['YB_CPU_CORES', 'number', 'Virtual Machine'],
      ['YB_RAM', 'ram', 'Virtual Machine'],
      ['YB_CLUSTER', 'cluster', 'Virtual Machine'],
      ['YB_DRIVE_OS_SIZE', 'disk_size', 'Virtual Machine'],
      ['YB_INSTALL_MEDIA', 'row', 'Virtual Machine'],
      ['YB_SHUTDOWN_TIMEOUT', 'seconds', 'Virtual Machine'],
      ['YB_HOSTNAME', 'hostname', 'Windows'],
      ['YB_ADMIN_PASSWORD', 'password', 'Windows'],
      ['YB_TIMEZONE', 'list', 'Windows'],
      ['YB_NIC_ETH0', 'network', 'Windows'],
    ]);
    expect(joined.json[4]).toMatchObject({ table: 'files', filter: "type eq 'iso'" });
    expect(joined.json[8]!.list).toEqual({ UTC: 'UTC', 'Eastern Standard Time': 'US Eastern' });
  });

  it('simulates: 405 "Simulation complete" with cloud-init (no password in it), logs and resolved answers; nothing is created', async () => {
    const before = await liveVms();
    const res = await call(sim, 'POST', '/vm_recipe_instances', {
      recipe: UBUNTU_RECIPE_KEY,
      name: 'web-01',
      answers: ubuntuAnswers({ YB_RAM: 8192, YB_USER: 'deploy', YB_QEMU_AGENT: 'enabled' }),
      auto_update: false,
      simulate: true,
    });
    expect(res.status).toBe(405);
    expect(res.json.err).toBe('Simulation complete');
    const report = res.json.response as { cloudinit_files: Array<{ name: string; contents: string }>; logs: string[]; answers: Json };
    expect(report.cloudinit_files.map((f) => f.name)).toEqual(['user-data', 'meta-data']);
    const userData = report.cloudinit_files[0]!.contents;
    expect(userData).toMatch(/^#cloud-config\nhostname: web-01\n/);
    expect(userData).toContain('  - name: deploy');
    // 'enabled' is no bool VergeOS knows: read as false, so no guest agent.
    expect(userData).not.toContain('qemu-guest-agent');
    expect(JSON.stringify(report.cloudinit_files)).not.toContain(PASSWORD);
    expect(JSON.stringify(report.logs)).not.toContain(PASSWORD);
    expect(report.answers).toMatchObject({ YB_RAM: 8192, YB_CPU_CORES: 2, YB_DRIVE_OS_SIZE: 20 * GIB, YB_NIC_ETH0: 4, YB_QEMU_AGENT: false });
    expect(report.logs.at(-1)).toBe('Simulation complete');
    expect(report.logs).toContain("Would create VM 'web-01' with 2 cores and 8192 MB RAM on cluster 1");
    expect(report.logs.some((l) => /Error executing/.test(l))).toBe(false);
    expect(await liveVms()).toEqual(before);
    expect((await call(sim, 'GET', '/vm_recipe_instances')).json).toEqual([]);
  });

  it('a refused answer is an "Error executing recipe" log line in a 405, naming the question, never the password', async () => {
    const simulateWith = async (answers: Json, name = 'web-01') =>
      (await call(sim, 'POST', '/vm_recipe_instances', { recipe: UBUNTU_RECIPE_KEY, name, answers, simulate: true })).json;
    const errors = (body: Json) => ((body.response as { logs: string[] }).logs ?? []).filter((l) => l.includes('Error executing recipe'));
    expect(errors(await simulateWith({ YB_PASSWORD: PASSWORD }))).toEqual(["Error executing recipe: Question 'YB_HOSTNAME' (Hostname) is required"]);
    expect(errors(await simulateWith(ubuntuAnswers({ YB_RAM: 512 })))).toEqual(["Error executing recipe: Question 'YB_RAM' (RAM) must be at least 1024"]);
    expect(errors(await simulateWith(ubuntuAnswers({ YB_HOSTNAME: 'Web_01' })))).toEqual([
      "Error executing recipe: Question 'YB_HOSTNAME' (Hostname) does not match the pattern [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?",
    ]);
    expect(errors(await simulateWith(ubuntuAnswers({ YB_NIC_ETH0: 99 })))).toEqual([
      "Error executing recipe: Question 'YB_NIC_ETH0' (Network) names no network (99)",
    ]);
    expect(errors(await simulateWith(ubuntuAnswers({ YB_IP_ADDR_TYPE: 'static' })))).toEqual([
      "Error executing recipe: Question 'YB_IP_ADDR' (Static address) is required for a static address",
    ]);
    const short = await simulateWith(ubuntuAnswers({ YB_PASSWORD: 'short' }));
    expect(errors(short)).toEqual(["Error executing recipe: Question 'YB_PASSWORD' (Password) must be at least 8 characters long"]);
    expect(JSON.stringify((short.response as Json).cloudinit_files)).toBe('[]');
    expect(errors(await simulateWith(ubuntuAnswers(), 'legacy-db'))).toEqual(["Error executing recipe: The name 'legacy-db' is already in use"]);
    expect(sim.requestsTo('POST /vm_recipe_instances').map((r) => r.outcome)).toEqual([405, 405, 405, 405, 405, 405, 405]);
  });

  it('deploys: 201 {$key} integer, one VM with the answered cores, RAM (MB), disk (bytes) and NIC; the instance reads back with joins', async () => {
    const res = await call(sim, 'POST', '/vm_recipe_instances', {
      recipe: UBUNTU_RECIPE_KEY,
      name: 'web-01',
      answers: ubuntuAnswers({ YB_CPU_CORES: 4, YB_RAM: 8192, YB_DRIVE_OS_SIZE: 50 * GIB, YB_NIC_ETH0: 3, YB_IP_ADDR_TYPE: 'static', YB_IP_ADDR: '10.3.0.20' }),
      auto_update: false,
    });
    expect(res.status).toBe(201);
    expect(typeof res.json.$key).toBe('number');
    const fields = '$key,recipe,recipe#name as recipe_name,vm,vm#name as vm_name,name,version,build,auto_update,answers';
    const instance = (await call(sim, 'GET', `/vm_recipe_instances/${String(res.json.$key)}${query({ fields })}`)).json;
    expect(instance).toMatchObject({ $key: res.json.$key, recipe: UBUNTU_RECIPE_KEY, recipe_name: 'Ubuntu Server 24.04', vm_name: 'web-01', name: 'web-01' });
    expect(typeof instance.answers).toBe('string');
    const stored = JSON.parse(String(instance.answers)) as Json;
    expect(stored).toMatchObject({ YB_CPU_CORES: 4, YB_RAM: 8192, YB_HOSTNAME: 'web-01' });
    expect(stored).not.toHaveProperty('YB_PASSWORD');
    expect(JSON.stringify(sim.state.table('vm_recipe_instances').get(String(res.json.$key)))).not.toContain(PASSWORD);

    const vm = (await call(sim, 'GET', `/vms/${String(instance.vm)}${query({ fields: 'name,cpu_cores,ram,machine,os_family,uefi' })}`)).json;
    expect(vm).toMatchObject({ name: 'web-01', cpu_cores: 4, ram: 8192, os_family: 'linux', uefi: true });
    const drives = (await call(sim, 'GET', `/machine_drives${query({ filter: `machine eq ${String(vm.machine)}`, fields: 'name,media,disksize' })}`)).json;
    expect(drives).toEqual([{ name: 'OS', media: 'disk', disksize: 50 * GIB }]);
    const nics = (await call(sim, 'GET', `/machine_nics${query({ filter: `machine eq ${String(vm.machine)}`, fields: 'name,vnet,ipaddress' })}`)).json;
    expect(nics).toEqual([{ name: 'eth0', vnet: 3, ipaddress: '10.3.0.20' }]);
    const byName = (await call(sim, 'GET', `/vm_recipe_instances${query({ filter: "name eq 'web-01'", fields: '$key,vm' })}`)).json;
    expect(byName).toEqual([{ $key: res.json.$key, vm: instance.vm }]);
    const counted = (await call(sim, 'GET', `/vm_recipes/${UBUNTU_RECIPE_KEY}${query({ fields: 'count(instances) as instances' })}`)).json;
    expect(counted).toEqual({ instances: 1 });

    // Like any VM: powered on, snapshotted, and after a power-off deleted (the instance record stays).
    expect((await call(sim, 'POST', '/vm_actions', { vm: instance.vm, action: 'poweron' })).status).toBe(201);
    expect((await call(sim, 'POST', '/machine_snapshots', { machine: vm.machine, name: 'before', expires_type: 'never' })).status).toBe(201);
    expect((await call(sim, 'POST', '/vm_actions', { vm: instance.vm, action: 'kill' })).status).toBe(201);
    expect((await call(sim, 'DELETE', `/vms/${String(instance.vm)}`)).status).toBe(200);
    expect((await call(sim, 'GET', `/vm_recipe_instances${query({ fields: '$key,vm#name as vm_name' })}`)).json).toEqual([
      { $key: res.json.$key, vm_name: null },
    ]);
  });

  it('a Windows deploy takes its cluster, aliased types and row answers; disksize 0 keeps the image size', async () => {
    const res = await call(sim, 'POST', '/vm_recipe_instances', {
      recipe: WINDOWS_RECIPE_KEY,
      name: 'win-01',
      answers: { YB_HOSTNAME: 'WIN-01', YB_ADMIN_PASSWORD: 'a-long-admin-pass', YB_CLUSTER: 2, YB_NIC_ETH0: 4, YB_INSTALL_MEDIA: 9, YB_DRIVE_OS_SIZE: 0 },
    });
    expect(res.status).toBe(201);
    const vmKey = String(sim.state.table('vm_recipe_instances').get(String(res.json.$key))!.vm);
    const vm = (await call(sim, 'GET', `/vms/${vmKey}${query({ fields: 'cpu_cores,ram,cluster,os_family,machine' })}`)).json;
    expect(vm).toMatchObject({ cpu_cores: 4, ram: 8192, cluster: 2, os_family: 'windows' });
    const drives = (await call(sim, 'GET', `/machine_drives${query({ filter: `machine eq ${String(vm.machine)}`, fields: 'disksize' })}`)).json;
    expect(drives).toEqual([{ disksize: 80 * GIB }]);
    const bad = await call(sim, 'POST', '/vm_recipe_instances', {
      recipe: WINDOWS_RECIPE_KEY,
      name: 'win-02',
      answers: { YB_HOSTNAME: 'WIN-02', YB_ADMIN_PASSWORD: 'a-long-admin-pass', YB_CLUSTER: 3, YB_NIC_ETH0: 4, YB_INSTALL_MEDIA: 123 },
      simulate: true,
    });
    expect((bad.json.response as { logs: string[] }).logs.filter((l) => l.startsWith('Error'))).toEqual([
      "Error executing recipe: Question 'YB_CLUSTER' (Cluster) names a disabled cluster (Retired)",
    ]);
  });

  it('refuses a deploy: a taken name as POST /vms does, a bad answer 422, an undownloaded recipe 422; nothing is created', async () => {
    const before = await liveVms();
    const post = (body: Json) => call(sim, 'POST', '/vm_recipe_instances', { recipe: UBUNTU_RECIPE_KEY, answers: ubuntuAnswers(), ...body });
    expect(await post({ name: 'legacy-db' })).toEqual({ status: 409, json: { err: "The name 'legacy-db' is already in use" } });
    expect(await post({ name: 'web-09', answers: ubuntuAnswers({ YB_RAM: 'lots' }) })).toEqual({
      status: 422,
      json: { err: "Error executing recipe: Question 'YB_RAM' (RAM) must be a whole number" },
    });
    expect(await post({ name: 'web-09', recipe: ROCKY_RECIPE_KEY })).toEqual({
      status: 422,
      json: { err: "VM recipe 'Rocky Linux 9' has not been downloaded" },
    });
    expect(await post({ name: 'web-09', recipe: 'f'.repeat(40) })).toEqual({ status: 404, json: { err: `VM recipe '${'f'.repeat(40)}' not found` } });
    expect(await liveVms()).toEqual(before);
    expect((await call(sim, 'GET', '/vm_recipe_instances')).json).toEqual([]);
    expect((await call(sim, 'PUT', `/vm_recipes/${ROCKY_RECIPE_KEY}?action=download`, {})).status).toBe(200);
    expect((await post({ name: 'rocky-01', recipe: ROCKY_RECIPE_KEY, answers: { YB_HOSTNAME: 'rocky-01' } })).status).toBe(201);
  });

  it('a commit: true fault on POST /vm_recipe_instances deploys and then drops the answer: exactly one instance and VM of that name', async () => {
    sim.faults.add({ route: 'POST /vm_recipe_instances', nth: 1, drop: true, commit: true });
    await expect(
      call(sim, 'POST', '/vm_recipe_instances', { recipe: UBUNTU_RECIPE_KEY, name: 'web-lost', answers: ubuntuAnswers({ YB_HOSTNAME: 'web-lost' }) }),
    ).rejects.toThrow();
    expect(sim.requestsTo('POST /vm_recipe_instances').map((r) => r.outcome)).toEqual(['dropped']);
    const instances = (await call(sim, 'GET', `/vm_recipe_instances${query({ filter: "name eq 'web-lost'", fields: '$key,vm#name as vm_name' })}`)).json;
    expect(instances).toEqual([{ $key: 1, vm_name: 'web-lost' }]);
    expect((await liveVms()).filter((vm) => vm.name === 'web-lost')).toHaveLength(1);
  });
});
