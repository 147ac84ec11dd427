/** Every shipped recipe, provisioned against the simulator: the exact calls, in order, with the machine key. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planSpec } from '../../src/plan/plan.js';
import { planJson } from '../../src/plan/render.js';
import { runResult } from '../../src/provision/result.js';
import { provisioningRig, type ProvisioningRig, recipeSpec } from '../helpers/core.js';

const RECIPES = ['web-server', 'enterprise-cloudinit', 'gpu-workstation', 'iso-install', 'cloud-image', 'windows-11'];
const GIB = 1024 ** 3;

/** What each shipped recipe sends for drives and devices, in order (the machine key left out). */
const EXACT_BODIES: Record<string, Array<[string, Record<string, unknown>]>> = {
  'web-server': [['drives', { name: 'OS Drive', media: 'disk', interface: 'virtio-scsi', disksize: 100 * GIB, preferred_tier: '1' }]],
  'enterprise-cloudinit': [
    [
      'drives',
      {
        name: 'Ubuntu Server',
        description: 'Ubuntu 22.04 LTS cloud image',
        media: 'import',
        interface: 'virtio-scsi',
        preferred_tier: '2',
        media_source: '123',
      },
    ],
    ['drives', { name: 'Data', media: 'disk', interface: 'virtio-scsi', disksize: 200 * GIB, preferred_tier: '2' }],
  ],
  'gpu-workstation': [
    ['drives', { name: 'OS Drive', media: 'disk', interface: 'virtio-scsi', disksize: 250 * GIB, preferred_tier: '1' }],
    ['drives', { name: 'Scratch', media: 'disk', interface: 'nvme', disksize: 500 * GIB, preferred_tier: '1' }],
    ['devices', { type: 'node_host_gpu_devices', resource_group: '1f67f07e-f653-db95-c475-01b8a2ea0ff1', settings_args: {} }],
  ],
  'iso-install': [
    ['drives', { name: 'Installer', media: 'cdrom', interface: 'ahci', media_source: '7' }],
    ['drives', { name: 'OS Drive', media: 'disk', interface: 'virtio-scsi', disksize: 64 * GIB, preferred_tier: '2' }],
  ],
  'cloud-image': [['drives', { name: 'Debian 12', media: 'import', interface: 'virtio-scsi', preferred_tier: '3', media_source: '124' }]],
  'windows-11': [
    // No size on the EFI disk: VergeOS lays out the UEFI variable store itself.
    ['drives', { name: 'EFI', media: 'efidisk', interface: 'virtio-scsi' }],
    ['drives', { name: 'OS Drive', media: 'disk', interface: 'virtio-scsi', disksize: 128 * GIB, preferred_tier: '2' }],
    ['drives', { name: 'Windows installer', media: 'cdrom', interface: 'ahci', media_source: '10' }],
    ['drives', { name: 'VirtIO drivers', media: 'cdrom', interface: 'ahci', media_source: '9' }],
    ['devices', { type: 'tpm', settings_args: {} }],
  ],
};

describe('provisioning each shipped recipe', () => {
  let rig: ProvisioningRig;
  beforeEach(async () => {
    // VergeOS's clock moves 40 ms with each drive-status poll: an import (60 ms) is seen importing, then done, however busy the machine.
    let now = Date.now();
    rig = await provisioningRig({ clock: () => now });
    rig.sim.onRequest('GET /machine_drives', () => {
      now += 40;
    });
  });
  afterEach(() => rig.close());

  it.each(RECIPES)('%s: makes the planned calls in order, children on the machine key', async (recipe) => {
    const spec = await recipeSpec(recipe, `t-${recipe}`);
    const run = await rig.provisioner.createRun(spec, { actor: 'test' });
    const finished = await rig.provisioner.execute(run.id);
    expect(finished.state).toBe('succeeded');
    const { vmKey, machineKey } = finished.keys;
    expect(vmKey).toBeDefined();
    expect(machineKey).not.toBe(vmKey);

    // The POSTs VergeOS received are exactly the plan's calls, keys filled in.
    const posts = rig.sim.requests.filter((r) => r.method === 'POST');
    const expected = planJson(planSpec(spec), { vmKey, machineKey }).steps.filter((s) => s.method === 'POST');
    expect(posts.map((p) => p.path)).toEqual(expected.map((s) => s.path));
    expect(posts.map((p) => p.body)).toEqual(expected.map((s) => s.body));
    for (const child of posts.filter((p) => /machine_(drives|nics|devices)/.test(p.path))) {
      expect((child.body as { machine: string }).machine).toBe(machineKey);
    }
    // The exact drive and device bodies, in order: every device with its type, no size on an EFI disk.
    const children = posts
      .filter((p) => /machine_(drives|devices)$/.test(p.path))
      .map((p) => {
        const { machine, ...body } = p.body as Record<string, unknown>;
        expect(machine).toBe(machineKey);
        return [p.path.endsWith('drives') ? 'drives' : 'devices', body];
      });
    expect(children).toEqual(EXACT_BODIES[recipe]);
    // A run waits for imports before powering on.
    if (spec.drives.some((d) => d.media === 'import') && spec.power_on) {
      const powerIndex = rig.sim.requests.findIndex((r) => r.route === 'POST /vm_actions');
      const lastImportCheck = rig.sim.requests.map((r) => r.route).lastIndexOf('GET /machine_drives');
      expect(lastImportCheck).toBeLessThan(powerIndex);
      // Status read as VergeOS's clients read it: the raw column is a key, the join gives the text.
      expect(rig.sim.requests[lastImportCheck]!.query.fields).toMatch(/status#status as status/);
      expect(rig.sim.requestsTo('GET /machine_drives').length).toBeGreaterThan(1);
    }

    // VergeOS now holds exactly what the spec asked for.
    const result = runResult(finished);
    expect((await rig.client.listDrives(machineKey!)).map((d) => d.key).sort()).toEqual(result.drives.map((d) => d.key).sort());
    expect((await rig.client.listNics(machineKey!)).map((n) => n.key)).toEqual(result.nics.map((n) => n.key));
    expect((await rig.client.listDevices(machineKey!)).map((d) => d.key)).toEqual(result.devices.map((d) => d.key));
    expect(result.drives.map((d) => d.name)).toEqual(
      planSpec(spec)
        .steps.filter((s) => s.kind === 'add_drive')
        .map((s) => (s as { body: { name: string } }).body.name),
    );
    expect((await rig.client.machineStatus(machineKey!))?.running).toBe(spec.power_on);
    expect(result.poweredOn).toBe(spec.power_on);
  });
});
