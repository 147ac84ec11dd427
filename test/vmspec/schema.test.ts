import fc from 'fast-check';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRecipes, parseRecipeText, recipeFilesIn, formatRecipeError } from '../../src/vmspec/recipes.js';
import { vmSpecDraftSchema, vmSpecSchema } from '../../src/vmspec/schema.js';
import { completeSpec, parseSpec } from '../../src/vmspec/validate.js';
import { GIB, parseSizeToBytes, TIB } from '../../src/vmspec/units.js';
import { MANIFESTS } from '../helpers/core.js';
import { planSpec } from '../../src/plan/plan.js';
import { withDeviceTypes } from '../../src/preflight/check.js';
import type { ResourceGroup } from '../../src/vergeos/types.js';

const errorsOf = (input: unknown) => {
  const r = parseSpec(input);
  return r.ok ? [] : r.errors;
};

describe('VM spec', () => {
  it('accepts sizes in API units or with units, and rounds RAM up to 256 MB', () => {
    const r = parseSpec({
      vm: { name: 'a', ram: '8GiB' },
      drives: [
        { media: 'disk', disksize: '100GiB' },
        { media: 'disk', disksize: 2 * TIB },
      ],
    });
    expect(r.ok && r.value.vm.ram).toBe(8192);
    expect(r.ok && r.value.drives.map((d) => d.disksize)).toEqual([100 * GIB, 2 * TIB]);
    expect(parseSpec({ vm: { name: 'a', ram: '512MiB' } })).toMatchObject({ ok: true, value: { vm: { ram: 512 } } });
    expect(parseSpec({ vm: { name: 'a', ram: 300 } })).toMatchObject({ ok: true, value: { vm: { ram: 512 } } });
    expect(parseSpec({ vm: { name: 'a', ram: '2TiB' } })).toMatchObject({
      ok: false,
      errors: [{ path: 'vm.ram', message: 'RAM must be between 256 MiB and 1 TiB' }],
    });
    expect(parseSizeToBytes('1.5 GB')).toBe(1.5 * GIB);
    expect(parseSizeToBytes('lots')).toBeUndefined();
  });

  it("names the field in the user's terms for every rule", () => {
    expect(errorsOf({ vm: {} })).toEqual([{ path: 'vm.name', message: 'the VM name must be text' }]);
    expect(errorsOf({ vm: { name: "it's" } })[0]).toEqual({
      path: 'vm.name',
      message: 'the VM name may only contain letters, digits, spaces, dots, dashes and underscores, starting with a letter or digit',
    });
    expect(errorsOf({ vm: { name: 'x'.repeat(129) } })[0]?.message).toBe('the VM name can be at most 128 characters');
    expect(errorsOf({ vm: { name: 'a', cpu_cores: 2000 } })).toEqual([{ path: 'vm.cpu_cores', message: 'CPU cores can be at most 1024' }]);
    expect(errorsOf({ vm: { name: 'a', video: 'hdmi' } })[0]).toEqual({
      path: 'vm.video',
      message: 'the video adapter must be one of std, cirrus, vmware, qxl, virtio, none (got "hdmi")',
    });
    expect(errorsOf({ vm: { name: 'a', secure_boot: true } })).toEqual([{ path: 'vm.secure_boot', message: 'secure boot needs UEFI: set uefi: true' }]);
    expect(errorsOf({ vm: { name: 'a' }, drives: [{ media: 'disk' }] })).toEqual([
      { path: 'drives[0].disksize', message: 'a new disk needs a size (e.g. 100GiB)' },
    ]);
    expect(errorsOf({ vm: { name: 'a' }, drives: [{ media: 'cdrom' }] })).toEqual([
      { path: 'drives[0].media_source', message: 'a cdrom drive needs a media source (the key of an ISO or image file)' },
    ]);
    expect(errorsOf({ vm: { name: 'a' }, drives: [{ media: 'disk', disksize: 'big' }] })[0]).toEqual({
      path: 'drives[0].disksize',
      message: 'the disk size must be a number of bytes or a size like 100GiB (got "big")',
    });
    expect(errorsOf({ vm: { name: 'a' }, drives: [{ media: 'disk', disksize: 1, interface: 'scsi' }] }).map((e) => e.path)).toEqual([
      'drives[0].interface',
      'drives[0].disksize',
    ]);
    expect(errorsOf({ vm: { name: 'a' }, nics: [{}] })).toEqual([{ path: 'nics[0].vnet', message: 'the network (vnet) must be a key (a number such as 3)' }]);
    expect(errorsOf({ vm: { name: 'a' }, devices: [{ resource_group: 'gpu' }] })[0]?.path).toBe('devices[0].resource_group');
    expect(errorsOf({ vm: { name: 'a', cpu_core: 4 } })).toEqual([
      { path: 'vm.cpu_core', message: "unknown field (field names are VergeOS's own, e.g. cpu_cores, ram, disksize)" },
    ]);
    expect(errorsOf({ vm: { name: 'a', cloudinit_files: [{ name: 'user-data', contents: 'x'.repeat(65 * 1024) }] } })).toEqual([
      { path: 'vm.cloudinit_files[0].contents', message: 'a cloud-init file can be at most 64 KB' },
    ]);
    expect(
      errorsOf({
        vm: { name: 'a' },
        drives: [
          { name: 'D', media: 'disk', disksize: '1GiB' },
          { name: 'D', media: 'disk', disksize: '1GiB' },
        ],
      }),
    ).toEqual([{ path: 'drives[1].name', message: 'two drives are named D' }]);
  });

  it('a recipe draft completes with the name given at request time', () => {
    const draft = vmSpecDraftSchema.parse({ vm: { cpu_cores: 2 }, power_on: 'true' });
    expect(completeSpec(draft)).toMatchObject({ ok: false, errors: [{ path: 'vm.name' }] });
    expect(completeSpec(draft, 'db-1')).toMatchObject({ ok: true, value: { vm: { name: 'db-1', cpu_cores: 2, ram: 1024 }, power_on: true } });
  });

  it('never throws past the parser: any input gives a valid spec or field errors (property)', () => {
    const fieldValue = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom('8GiB', '100GiB', 'virtio', 'disk', 'cdrom', 'import', '1', '3', 'true'),
    );
    const drive = fc.record(
      {
        name: fc.option(fc.string(), { nil: undefined }),
        media: fieldValue,
        interface: fieldValue,
        disksize: fieldValue,
        media_source: fieldValue,
        preferred_tier: fieldValue,
      },
      { requiredKeys: [] },
    );
    const spec = fc.record(
      {
        vm: fc.oneof(
          fc.record(
            {
              name: fc.oneof(fc.string(), fc.constant('web-01')),
              ram: fieldValue,
              cpu_cores: fieldValue,
              uefi: fieldValue,
              secure_boot: fieldValue,
              video: fieldValue,
            },
            { requiredKeys: [] },
          ),
          fieldValue,
        ),
        drives: fc.oneof(fc.array(drive, { maxLength: 4 }), fieldValue),
        nics: fc.oneof(fc.array(fc.record({ vnet: fieldValue, interface: fieldValue }, { requiredKeys: [] }), { maxLength: 3 }), fieldValue),
        devices: fc.oneof(fc.array(fc.record({ resource_group: fieldValue }, { requiredKeys: [] }), { maxLength: 2 }), fieldValue),
        power_on: fieldValue,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(spec, fc.anything()), (input) => {
        const result = parseSpec(input);
        if (result.ok) {
          // A valid spec is a fixed point: parsing it again gives the same spec.
          expect(vmSpecSchema.parse(result.value)).toEqual(result.value);
        } else {
          expect(result.errors.length).toBeGreaterThan(0);
          for (const e of result.errors) {
            expect(typeof e.path).toBe('string');
            expect(e.message.length).toBeGreaterThan(3);
          }
        }
      }),
      { numRuns: 1500 },
    );
  });
});

describe('devices, TPMs and EFI disks', () => {
  const GPU = '1f67f07e-f653-db95-c475-01b8a2ea0ff1';
  const spec = (extra: Record<string, unknown>) => {
    const r = parseSpec({ vm: { name: 'd', uefi: true }, ...extra });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.value;
  };

  it('one POST per device (count), each with its type; a group by key goes as a number, by uuid as text', () => {
    const plan = planSpec(
      spec({ devices: [{ type: 'node_pci_devices', resource_group: 7, count: 2 }, { type: 'tpm' }, { resource_group: GPU.toUpperCase() }] }),
    );
    expect(plan.steps.filter((s) => s.kind === 'add_device').map((s) => [s.id, s.kind === 'add_device' && s.body])).toEqual([
      ['device:0', { type: 'node_pci_devices', resource_group: 7, settings_args: {} }],
      ['device:0#2', { type: 'node_pci_devices', resource_group: 7, settings_args: {} }],
      ['device:1', { type: 'tpm', settings_args: {} }],
      ['device:2', { resource_group: GPU.toUpperCase(), settings_args: {} }],
    ]);
  });

  it("a device named by group alone takes the group's type, found by uuid (any case) or key", () => {
    const groups = [{ key: '1', uuid: GPU, name: 'A40', type: 'node_host_gpu_devices', class: 'gpu', enabled: true, resourceCount: 4 }] as ResourceGroup[];
    const typed = withDeviceTypes(spec({ devices: [{ resource_group: GPU.toUpperCase() }, { resource_group: 1 }, { type: 'tpm' }] }), groups);
    expect(typed.devices.map((d) => d.type)).toEqual(['node_host_gpu_devices', 'node_host_gpu_devices', 'tpm']);
  });

  it('refuses what VergeOS would refuse or mis-build, naming the field', () => {
    expect(errorsOf({ vm: { name: 'd' }, devices: [{ type: 'tpm', count: 2 }] })).toEqual([{ path: 'devices[0].count', message: 'a VM has at most one TPM' }]);
    expect(errorsOf({ vm: { name: 'd' }, devices: [{ type: 'tpm' }, { type: 'tpm' }] })).toEqual([
      { path: 'devices[1].type', message: 'a VM has at most one TPM' },
    ]);
    expect(errorsOf({ vm: { name: 'd' }, devices: [{}] })).toEqual([
      {
        path: 'devices[0].resource_group',
        message: 'a GPU, PCI, USB or SR-IOV device needs a resource group (its UUID or key), or give type: tpm for a virtual TPM',
      },
    ]);
    expect(errorsOf({ vm: { name: 'd' }, devices: [{ resource_group: 'gpu-pool' }] })).toEqual([
      {
        path: 'devices[0].resource_group',
        message: 'the resource group must be its UUID (like 1f67f07e-f653-db95-c475-01b8a2ea0ff1) or its key (a number such as 3)',
      },
    ]);
    expect(errorsOf({ vm: { name: 'd' }, devices: [{ type: 'gpu', resource_group: 1 }] })[0]?.path).toBe('devices[0].type');
    expect(
      errorsOf({
        vm: { name: 'd', uefi: true },
        devices: [{ type: 'node_nvidia_vgpu_devices', resource_group: 2, settings_args: { attach_drivers: 'yes', vendor_flag: 1 } }],
      }),
    ).toEqual([{ path: 'devices[0].settings_args.attach_drivers', message: 'attach_drivers must be true or false (got "yes")' }]);
    expect(errorsOf({ vm: { name: 'd' }, drives: [{ media: 'efidisk', media_source: 9 }, { media: 'efidisk' }] })).toEqual([
      { path: 'drives[0].media_source', message: 'an EFI disk takes no media source: VergeOS creates it empty; remove media_source' },
      { path: 'drives[0].media', message: 'an EFI disk is for UEFI VMs: set uefi: true, or remove the EFI disk' },
      { path: 'drives[1].media', message: 'an EFI disk is for UEFI VMs: set uefi: true, or remove the EFI disk' },
      { path: 'drives[1].media', message: 'a VM has at most one EFI disk' },
    ]);
  });

  it('cloud-init files go as /user-data whichever way the recipe names them; the same file twice is refused', () => {
    const files = (names: string[]) => spec({ vm: { name: 'c', cloudinit_files: names.map((name) => ({ name, contents: '#cloud-config' })) } });
    expect(planSpec(files(['user-data', '/meta-data'])).steps[0]).toMatchObject({
      body: { cloudinit_files: [{ name: '/user-data' }, { name: '/meta-data' }], cloudinit_datasource: 'nocloud' },
    });
    expect(
      errorsOf({
        vm: {
          name: 'c',
          cloudinit_files: [
            { name: 'user-data', contents: '' },
            { name: '/user-data', contents: '' },
          ],
        },
      }),
    ).toEqual([{ path: 'vm.cloudinit_files[1].name', message: 'two cloud-init files are named user-data' }]);
  });
});

describe('recipes', () => {
  it('all shipped recipes validate, and there are at least the five use cases', async () => {
    const { recipes, errors } = await loadRecipes(await recipeFilesIn(MANIFESTS));
    expect(errors).toEqual([]);
    expect(recipes.map((r) => r.id).sort()).toEqual(['cloud-image', 'enterprise-cloudinit', 'gpu-workstation', 'iso-install', 'web-server', 'windows-11']);
    const gpu = recipes.find((r) => r.id === 'gpu-workstation')!;
    expect(gpu.draft.devices).toEqual([{ type: 'node_host_gpu_devices', resource_group: '1f67f07e-f653-db95-c475-01b8a2ea0ff1', count: 1, settings_args: {} }]);
    const win = recipes.find((r) => r.id === 'windows-11')!;
    expect(win.draft.vm).toMatchObject({ uefi: true, secure_boot: true, os_family: 'windows' });
    expect(win.draft.devices).toEqual([{ type: 'tpm', count: 1, settings_args: {} }]);
    expect(win.draft.drives[0]).toEqual({ name: 'EFI', media: 'efidisk', interface: 'virtio-scsi' });
    const ent = recipes.find((r) => r.id === 'enterprise-cloudinit')!;
    expect(ent.draft.vm.cloudinit_files?.[0]?.contents).toMatch(/ssh_authorized_keys/);
  });

  it('a broken recipe fails with file:field: message for each problem', () => {
    const text = [
      'recipe: Bad Id',
      'title: Broken',
      'vm:',
      '  cpu_cores: 0',
      '  ram: 8 bananas',
      'drives:',
      '  - { media: disk }',
      'nics:',
      '  - { vnet: external }',
      'power_on: maybe',
    ].join('\n');
    const result = parseRecipeText(text, 'manifests/broken.yml');
    expect(result.ok).toBe(false);
    const lines = result.ok ? [] : result.errors.map(formatRecipeError);
    expect(lines.sort()).toEqual(
      [
        'manifests/broken.yml:recipe: the recipe id may only contain lower-case letters, digits and dashes',
        'manifests/broken.yml:vm.cpu_cores: CPU cores must be at least 1',
        'manifests/broken.yml:vm.ram: RAM must be a number of MB or a size like 8GiB (got "8 bananas")',
        'manifests/broken.yml:drives[0].disksize: a new disk needs a size (e.g. 100GiB)',
        'manifests/broken.yml:nics[0].vnet: the network (vnet) must be a key (a number such as 3)',
        'manifests/broken.yml:power_on: power on must be true or false',
      ].sort(),
    );
    expect(parseRecipeText('recipe: x\n  bad: [', 'f.yml')).toMatchObject({
      ok: false,
      errors: [{ file: 'f.yml', message: expect.stringMatching(/^not valid YAML/) }],
    });
  });

  it('two recipe files may not claim the same id', async () => {
    const file = join(MANIFESTS, 'web-server.yml');
    const { errors } = await loadRecipes([file, file]);
    expect(errors.map(formatRecipeError)).toEqual([`${file}:recipe: the id web-server is already used by web-server.yml`]);
  });
});
