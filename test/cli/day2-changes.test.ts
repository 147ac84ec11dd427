/**
 * `vmbot resize`, `disk add|grow` and `nic add` as an operator runs them, against the simulator:
 * the exact bodies on the wire (RAM in MB, disk sizes in bytes), --json, and apply's exit codes
 * (0 done; 1 VergeOS refused; 2 bad input: unknown VM, bad flags, pre-flight's refusals).
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GIB, type VergeosSim } from '../../src/sim/index.js';
import { runVmbot } from '../helpers/cli.js';
import { useCliSim } from '../helpers/cli-sim.js';
import { MANIFESTS } from '../helpers/core.js';

interface VmRow {
  name: string;
  vmKey: string;
  machineKey: string;
  size: { cpuCores: number; ramMb: number };
  needRestart?: boolean;
}

describe('vmbot resize, disk add|grow, nic add', () => {
  let sim: VergeosSim;
  let env: Record<string, string>;
  let vm: VmRow;
  const rig = useCliSim();
  beforeAll(async () => {
    ({ sim, env } = rig);
    // 2 vCPU, 4 GiB RAM, drives Installer (CD-ROM) and OS Drive (64 GiB on tier 2), NIC uplink; powered on.
    const made = await runVmbot(['apply', join(MANIFESTS, 'iso-install.yml'), '--name', 'chg-1', '--yes', '--json'], env);
    expect(made.code).toBe(0);
    vm = (await list())[0]!;
  });

  const list = async () => JSON.parse((await runVmbot(['vms', '--json'], env)).stdout) as VmRow[];
  const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;
  const bodies = (route: string) => sim.requestsTo(route).map((r) => r.body);

  it('resizes a running VM: one PUT {cpu_cores, ram in MB}, restart needed, and vms --json shows the new size', async () => {
    const out = await runVmbot(['resize', 'chg-1', '--cpu', '4', '--ram', '8GiB', '--yes', '--json'], env);
    expect(out.code).toBe(0);
    expect(json(out.stdout)).toEqual({
      vm: 'chg-1',
      vmKey: vm.vmKey,
      change: { action: 'resize', cpu_cores: 4, ram: 8192, restart: false },
      status: 'done',
      needRestart: true,
      shown: 'resize: 2 vCPU, 4 GiB RAM → 4 vCPU, 8 GiB RAM',
      calls: [`PUT /api/v4/vms/${vm.vmKey} {"cpu_cores":4,"ram":8192}`],
      warnings: ['chg-1 is running: the new size takes effect at its next power cycle (restart needed)'],
    });
    expect(sim.requestsTo('PUT /vms/:key').map((r) => [r.path, r.body])).toEqual([[`/api/v4/vms/${vm.vmKey}`, { cpu_cores: 4, ram: 8192 }]]);
    expect(await list()).toMatchObject([{ name: 'chg-1', size: { cpuCores: 4, ramMb: 8192 }, needRestart: true }]);

    // In words: RAM without a unit is MB, rounded up to 256 MB; the restart is said plainly, and listed.
    const text = await runVmbot(['resize', 'chg-1', '--ram', '9000', '--yes'], env);
    expect([text.code, text.stderr]).toEqual([0, '']);
    expect(text.stdout).toBe(
      [
        `chg-1 (VM key ${vm.vmKey}): resize: 4 vCPU, 8 GiB RAM → 4 vCPU, 9 GiB RAM`,
        `  PUT /api/v4/vms/${vm.vmKey} {"cpu_cores":4,"ram":9216}`,
        'warning: chg-1 is running: the new size takes effect at its next power cycle (restart needed)',
        'Resized chg-1: 4 vCPU, 9 GiB RAM.',
        'restart needed: the new size takes effect at its next power cycle (run again with --restart, or power it off and on)',
        '',
      ].join('\n'),
    );
    expect(bodies('PUT /vms/:key').at(-1)).toEqual({ cpu_cores: 4, ram: 9216 });
    const listed = await runVmbot(['vms'], env);
    expect(listed.stdout).toMatch(/^chg-1 .* 4 vCPU, 9 GiB RAM, .*, restart needed {2}\(/m);
  });

  it('--restart power-cycles a running VM gracefully: the new size is in effect, no restart needed', async () => {
    const before = sim.requests.length;
    const out = await runVmbot(['resize', vm.vmKey, '--cpu', '2', '--restart', '--yes', '--json'], env);
    expect(out.code).toBe(0);
    expect(json(out.stdout)).toMatchObject({
      change: { action: 'resize', cpu_cores: 2, ram: 9216, restart: true },
      status: 'done',
      needRestart: false,
      calls: [
        `PUT /api/v4/vms/${vm.vmKey} {"cpu_cores":2,"ram":9216}`,
        `POST /api/v4/vm_actions {"vm":${vm.vmKey},"action":"poweroff","params":{}}`,
        `POST /api/v4/vm_actions {"vm":${vm.vmKey},"action":"poweron","params":{}}`,
      ],
      warnings: [],
    });
    const sent = sim.requests.slice(before).filter((r) => r.method !== 'GET');
    expect(sent.map((r) => [r.route, r.body])).toEqual([
      ['PUT /vms/:key', { cpu_cores: 2, ram: 9216 }],
      ['POST /vm_actions', { vm: Number(vm.vmKey), action: 'poweroff', params: {} }],
      ['POST /vm_actions', { vm: Number(vm.vmKey), action: 'poweron', params: {} }],
    ]);
    const [row] = await list();
    expect(row).toMatchObject({ size: { cpuCores: 2, ramMb: 9216 } });
    expect(row).not.toHaveProperty('needRestart');
  });

  it('a resize whose answer is lost is looked up, not sent again: exit 0, one PUT on the wire, reconciled', async () => {
    const puts = sim.requestsTo('PUT /vms/:key').length;
    sim.faults.add({ route: 'PUT /vms/:key', nth: 1, drop: true, commit: true });
    const out = await runVmbot(['resize', 'chg-1', '--cpu', '3', '--yes', '--json'], env);
    sim.faults.clear();
    expect(out.code).toBe(0);
    expect(json(out.stdout)).toMatchObject({ change: { cpu_cores: 3, ram: 9216 }, status: 'done', reconciled: true, needRestart: true });
    expect(
      sim
        .requestsTo('PUT /vms/:key')
        .slice(puts)
        .map((r) => [r.body, r.outcome]),
    ).toEqual([[{ cpu_cores: 3, ram: 9216 }, 'dropped']]);
    expect((await list())[0]).toMatchObject({ size: { cpuCores: 3 }, needRestart: true });
  });

  it('adds a disk on a tier (size in bytes) and a CD-ROM from media, each named disk-N / cdrom-N when not given', async () => {
    const disk = await runVmbot(['disk', 'add', 'chg-1', '--size', '50GiB', '--tier', '2', '--json'], env);
    expect(disk.code).toBe(0);
    const drive = { name: 'disk-3', media: 'disk', interface: 'virtio-scsi', disksize: 50 * GIB, preferred_tier: '2' };
    const sent = sim.requestsTo('POST /machine_drives').at(-1)!;
    expect(sent.body).toEqual({ machine: vm.machineKey, ...drive });
    const result = json(disk.stdout);
    expect(result).toEqual({
      vm: 'chg-1',
      vmKey: vm.vmKey,
      change: { action: 'disk_add', drive },
      status: 'done',
      key: expect.stringMatching(/^\d+$/),
      shown: 'add disk disk-3: 50 GiB on tier 2 (virtio-scsi)',
      calls: [expect.stringMatching(/^POST \/api\/v4\/machine_drives \{/)],
      warnings: [],
    });
    // The call shown is the body sent (the machine key as the core writes it, number or string).
    const shownBody = JSON.parse((result.calls as string[])[0]!.replace('POST /api/v4/machine_drives ', '')) as Record<string, unknown>;
    expect({ ...shownBody, machine: String(shownBody.machine) }).toEqual(sent.body);
    expect(sim.state.table('machine_drives').get(json(disk.stdout).key as string)).toMatchObject({ name: 'disk-3', disksize: 50 * GIB });

    const cdrom = await runVmbot(['disk', 'add', 'chg-1', '--cdrom', '7'], env);
    expect(cdrom.code).toBe(0);
    expect(bodies('POST /machine_drives').at(-1)).toEqual({ machine: vm.machineKey, name: 'cdrom-4', media: 'cdrom', interface: 'ahci', media_source: '7' });
    expect(cdrom.stdout).toMatch(/\nAdded CD-ROM cdrom-4 to chg-1 \(drive key \d+\)\.\n$/);
  });

  it('grows a disk (PUT {disksize in bytes} to its key) and adds a NIC with a static address', async () => {
    const osDrive = [...sim.state.table('machine_drives').entries()].find(([, d]) => String(d.machine) === vm.machineKey && d.name === 'OS Drive')![0];
    const grow = await runVmbot(['disk', 'grow', 'chg-1', 'OS Drive', '--to', '100GiB', '--json'], env);
    expect(grow.code).toBe(0);
    expect(json(grow.stdout)).toMatchObject({
      status: 'done',
      change: { action: 'disk_grow', drive: 'OS Drive', disksize: 100 * GIB },
      shown: 'grow drive OS Drive: 64 GiB → 100 GiB',
    });
    expect(sim.requestsTo('PUT /machine_drives/:key').map((r) => [r.path, r.body])).toEqual([[`/api/v4/machine_drives/${osDrive}`, { disksize: 100 * GIB }]]);

    const nic = await runVmbot(['nic', 'add', 'chg-1', '--vnet', '3', '--ip', '10.3.0.9', '--json'], env);
    expect(nic.code).toBe(0);
    expect(bodies('POST /machine_nics').at(-1)).toEqual({
      machine: vm.machineKey,
      vnet: '3',
      name: 'nic-2',
      interface: 'virtio',
      enabled: true,
      ipaddress: '10.3.0.9',
    });
    expect(json(nic.stdout)).toMatchObject({
      status: 'done',
      key: expect.stringMatching(/^\d+$/),
      shown: 'add NIC nic-2 on network 3 (virtio, address 10.3.0.9)',
    });
  });

  it('refuses bad flags with exit 2 before anything is read, each naming its flag; the help says the policy is not asked', async () => {
    const cases: Array<[string[], string]> = [
      [['resize', 'chg-1', '--yes'], 'give --cpu N or --ram SIZE (or both); the one left out stays as it is'],
      [['resize', 'chg-1', '--cpu', 'four', '--yes'], '--cpu must be a whole number of cores (got "four")'],
      [['disk', 'add', 'chg-1', '--size', '10GiB', '--cdrom', '7'], 'give one of --size SIZE (a new disk) or --cdrom MEDIA_KEY (a CD-ROM from a media file)'],
      [['disk', 'add', 'chg-1', '--cdrom', '7', '--tier', '2'], '--tier is for a new disk; a CD-ROM reads its media file where it is'],
    ];
    const [help, ...runs] = await Promise.all([runVmbot(['resize', '--help'], env), ...cases.map(([args]) => runVmbot(args, env))]);
    expect(runs.map((r) => [r.code, r.stdout, r.stderr])).toEqual(cases.map(([, message]) => [2, '', `${message}\n`]));
    // The operator's tool, as apply is: the help says the approval policy is not asked.
    expect(help.code).toBe(0);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain("the operator's tool, like apply: checked by pre-flight, not sent through the approval policy; audited");
  });

  it("refuses an unknown VM, bad values and pre-flight's findings with exit 2 (one process at a time: the store's lock), and sends nothing", async () => {
    const cluster = sim.state.table('clusters').get('1')!;
    const maxRam = cluster.max_ram_per_vm;
    cluster.max_ram_per_vm = 16_384;
    const changing = () => sim.requests.filter((r) => r.method !== 'GET').length;
    const sentBefore = changing();
    const cases: Array<[string[], string]> = [
      [['resize', 'nope', '--cpu', '2', '--yes'], 'no VM nope made through the bot (see `vmbot vms`)'],
      [['resize', 'chg-1', '--ram', '2TiB', '--yes'], '--ram: RAM must be between 256 MiB and 1 TiB\nNothing was changed.'],
      [
        ['resize', 'chg-1', '--ram', '32GiB', '--yes', '--json'],
        '--ram: cluster Cluster1 runs VMs of at most 16 GiB RAM; VergeOS would accept 32 GiB and then refuse to start the VM\nNothing was changed.',
      ],
      [
        ['disk', 'grow', 'chg-1', 'OS Drive', '--to', '32GiB'],
        '--to: drive OS Drive is 100 GiB; a drive can only grow, so give more than that\nNothing was changed.',
      ],
      [
        ['disk', 'grow', 'chg-1', 'Data', '--to', '1TiB'],
        'chg-1 has no drive named Data (its drives: Installer, OS Drive, disk-3, cdrom-4)\nNothing was changed.',
      ],
      [['disk', 'add', 'chg-1', '--size', 'big'], '--size: the disk size must be a number of bytes or a size like 100GiB (got "big")\nNothing was changed.'],
      [['disk', 'add', 'chg-1', '--size', '10GiB', '--name', 'OS Drive'], '--name: chg-1 already has a drive named OS Drive\nNothing was changed.'],
      [['nic', 'add', 'chg-1', '--vnet', '999'], '--vnet: network 999 does not exist in VergeOS\nNothing was changed.'],
    ];
    const runs = [];
    for (const [args] of cases) runs.push(await runVmbot(args, env));
    cluster.max_ram_per_vm = maxRam;
    expect(runs.map((r) => [r.code, r.stdout, r.stderr])).toEqual(cases.map(([, message]) => [2, '', `${message}\n`]));
    expect(changing()).toBe(sentBefore);
  });

  it('a change VergeOS refuses is exit 1 with its words, audited as failed (--json: status failed)', async () => {
    sim.faults.add({ route: 'POST /machine_nics', nth: 1, status: 422, body: { err: 'Too many NICs on this machine' } });
    const out = await runVmbot(['nic', 'add', 'chg-1', '--vnet', '3', '--name', 'extra', '--json'], env);
    sim.faults.clear();
    expect(out.code).toBe(1);
    const result = json(out.stdout);
    expect(result).toMatchObject({ vm: 'chg-1', status: 'failed', error: { code: 'VERGEOS_VALIDATION' }, shown: 'add NIC extra on network 3 (virtio)' });
    expect((result.error as { message: string }).message).toContain('VergeOS said: "Too many NICs on this machine".');
    expect(out.stderr).toContain('chg-1: ');
    expect(out.stderr).toContain('Too many NICs on this machine');
    expect(sim.requestsTo('POST /machine_nics').filter((r) => (r.body as { name: string }).name === 'extra')).toHaveLength(1);
    // Every change audited under the operator's name: this one failed, in VergeOS's words.
    const audit = JSON.parse((await runVmbot(['audit', '--json'], env)).stdout) as Array<{ actor: string; action: string; outcome: string; detail?: string }>;
    const changes = audit.filter((r) => /^vm\.(resize|disk_|nic_)/.test(r.action));
    expect(changes.map((r) => `${r.action}:${r.outcome}`)).toEqual([
      'vm.resize:ok',
      'vm.resize:ok',
      'vm.resize:ok',
      'vm.resize:ok',
      'vm.disk_add:ok',
      'vm.disk_add:ok',
      'vm.disk_grow:ok',
      'vm.nic_add:ok',
      'vm.nic_add:failed',
    ]);
    expect(changes.every((r) => r.actor.startsWith('cli:'))).toBe(true);
    expect(changes.at(-1)!.detail).toContain('Too many NICs on this machine');
  });
});
