/**
 * The request form's field registry, without Bolt: the block budget comes from the declarations,
 * every field's errors land under its own block, and a full spec survives form → state → spec.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { GPU_RESOURCE_GROUP, VGPU_RESOURCE_GROUP } from '../../src/sim/inventory.js';
import { stateOf } from '../../src/sim/slack-driver.js';
import { modalViewSchema } from '../../src/slack/limits.js';
import { DEVICES, DRIVES, NICS, ROW_GROUPS } from '../../src/slack/views/request-form/row-groups.js';
import { FALLBACK_FIELD, TOP_FIELDS } from '../../src/slack/views/request-form/top-fields.js';
import {
  blockCount,
  blockForPath,
  blockId,
  canAdd,
  draftFromRecipe,
  draftFromState,
  fieldPaths,
  MAX_MODAL_BLOCKS,
  metaFor,
  OPTION_SOURCES,
  requestModal,
  specInputFromDraft,
  type ModalDraft,
  type ModalMeta,
} from '../../src/slack/views/request-modal.js';
import { parseRecipeText, type Recipe } from '../../src/vmspec/recipes.js';
import { parseSpec } from '../../src/vmspec/validate.js';

const label = (_source: string, value: string) => value;
/** The view as the Slack stand-in holds it, for `stateOf`. */
const asView = (view: ReturnType<typeof requestModal>) => ({ id: 'V1', hash: 'h1', view }) as unknown as Parameters<typeof stateOf>[0];

/** Every field the form shows, filled: three drive kinds, two NICs, a passthrough GPU, a vGPU with settings, a TPM. */
const FULL = {
  vm: {
    name: 'full-01',
    description: 'every field the form shows',
    cluster: '2',
    cpu_cores: 6,
    ram: '12GiB',
    uefi: true,
    secure_boot: true,
    guest_agent: true,
    video: 'virtio',
    cloudinit_datasource: 'nocloud',
    cloudinit_files: [{ name: 'user-data', contents: '#cloud-config\nhostname: full-01\n' }],
  },
  drives: [
    { name: 'OS', media: 'disk', disksize: '40GiB', preferred_tier: '1', interface: 'virtio-scsi' },
    { name: 'Image', media: 'import', media_source: '123', preferred_tier: '2', interface: 'virtio-scsi' },
    { name: 'Installer', media: 'cdrom', media_source: '10', interface: 'ahci' },
  ],
  nics: [
    { vnet: '3', interface: 'virtio' },
    { vnet: '4', interface: 'e1000e', ipaddress: '10.4.0.20' },
  ],
  devices: [
    { resource_group: GPU_RESOURCE_GROUP },
    { type: 'node_nvidia_vgpu_devices', resource_group: VGPU_RESOURCE_GROUP, settings_args: { frame_rate_limiter: 0, enable_uvm: true, disable_vnc: true } },
    { type: 'tpm' },
  ],
  power_on: true,
};

function recipeOf(spec: object): Recipe {
  const parsed = parseRecipeText(stringify({ recipe: 'full', title: 'Full', ...spec }), 'full.yml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.recipe;
}

function parsed(input: unknown) {
  const result = parseSpec(input);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.value;
}

describe('the block budget, from the registry', () => {
  const blank: ModalDraft = { drives: [], nics: [], devices: [] };

  it('counts what the form renders: the top fields, each group’s frame, and each row’s blocks', () => {
    // The figures the form used to hand-count: 20 blocks with no rows, 7 a drive, 2 a device and 2 more for vGPU settings;
    // a NIC is 4 since it gained a static IP address field (network, interface, IP address, Remove).
    expect(blockCount(metaFor(blank, 0))).toBe(20);
    expect(blockCount({ ...metaFor(blank, 0), q: 'quota' })).toBe(21);
    expect(blockCount({ ...metaFor(blank, 0), d: [0] }) - 20).toBe(7);
    expect(blockCount({ ...metaFor(blank, 0), n: [0] }) - 20).toBe(4);
    expect(blockCount({ ...metaFor(blank, 0), v: [0] }) - 20).toBe(2);
    expect(blockCount({ ...metaFor(blank, 0), v: [0], x: [0] }) - 20).toBe(4);
    // And it is what the registry declares.
    const frames = ROW_GROUPS.reduce((sum, g) => sum + (g.divider ? 3 : 2), 0);
    expect(blockCount(metaFor(blank, 0))).toBe(TOP_FIELDS.length - 1 + frames);
    expect([DRIVES, NICS, DEVICES].map((g) => g.fields.length + 1)).toEqual([7, 4, 4]);
  });

  it('matches the rendered blocks for every shape of form, and Add stops before the worst case outgrows 100 blocks', () => {
    const recipe = recipeOf(FULL);
    const draft = draftFromRecipe(recipe, undefined, label);
    for (const meta of [metaFor(draft, 0), { ...metaFor(draft, 2), q: ':bar_chart: quota' }, metaFor({ ...draft, devices: [] }, 1)]) {
      const shown = meta.v.length ? draft : { ...draft, devices: [] };
      expect(requestModal(shown, [recipe], meta).blocks).toHaveLength(blockCount(meta));
    }
    const full: ModalDraft = { ...draft, drives: [...draft.drives], nics: [...draft.nics], devices: [...draft.devices] };
    let meta = metaFor(full, 0);
    for (const kind of ['d', 'n', 'v'] as const) {
      const list = kind === 'd' ? full.drives : kind === 'n' ? full.nics : full.devices;
      while (canAdd(meta, kind)) {
        list.push({ row: meta.next });
        meta = metaFor(full, 0);
      }
    }
    // The worst case: a quota note and every device row a vGPU.
    const worst: ModalMeta = { ...meta, q: 'quota', x: meta.v };
    expect(blockCount(worst)).toBeLessThanOrEqual(MAX_MODAL_BLOCKS);
    expect(blockCount(worst) + NICS.fields.length + 1).toBeGreaterThan(MAX_MODAL_BLOCKS); // not even a NIC, the smallest row, fits
    const view = requestModal({ ...full, devices: full.devices.map((d) => ({ ...d, vgpu: d.vgpu ?? { flags: [] } })) }, [recipe], worst);
    expect(view.blocks).toHaveLength(blockCount(worst));
    const checked = modalViewSchema.safeParse(view);
    expect(checked.success ? [] : checked.error.issues).toEqual([]);
    expect(JSON.stringify(view)).toContain('Form is full');
  });
});

describe('error routing, from the registry', () => {
  const draft = draftFromRecipe(recipeOf(FULL), undefined, label);
  const meta = { ...metaFor(draft, 4), q: 'quota' };
  const view = requestModal(draft, [recipeOf(FULL)], meta);
  const blockIds = new Set(view.blocks.map((b) => b.block_id));

  it('sends each top field’s errors to its own block', () => {
    const routed = TOP_FIELDS.flatMap((f) => fieldPaths(f).map((path) => [path, blockForPath(path, meta), blockId(meta, f.id)]));
    expect(routed.length).toBeGreaterThanOrEqual(14);
    for (const [path, got, want] of routed) expect([path, got]).toEqual([path, want]);
    for (const [, got] of routed) expect(blockIds.has(got)).toBe(true);
    // Deeper paths go to the field that claims their start; unclaimed ones to the name.
    expect(blockForPath('vm.cloudinit_files[0].contents', meta)).toBe(blockId(meta, 'user_data'));
    expect(blockForPath('vm.rtc_base', meta)).toBe(blockId(meta, FALLBACK_FIELD));
    expect(blockForPath('drives', meta)).toBe(blockId(meta, 'name'));
  });

  it('sends each row field’s errors to its block in the right row, vGPU settings only where shown', () => {
    for (const group of ROW_GROUPS) {
      const rows = meta[group.metaKey];
      expect(rows.length).toBeGreaterThan(1);
      const index = group === DEVICES ? 1 : rows.length - 1; // device 2 is the vGPU
      for (const field of group.fields as ReadonlyArray<{ id: string; spec?: object; errors?: readonly string[] }>)
        for (const path of fieldPaths(field)) {
          const block = blockForPath(`${group.list}[${index}].${path}`, meta);
          expect([path, block]).toEqual([path, blockId(meta, field.id, rows[index])]);
          expect(blockIds.has(block)).toBe(true);
        }
      expect(blockForPath(`${group.list}[${index}]`, meta)).toBe(blockId(meta, group.fallback, rows[index]));
    }
    // The passthrough GPU shows no vGPU settings: their errors go to its group select.
    expect(blockForPath('devices[0].settings_args.frame_rate_limiter', meta)).toBe(blockId(meta, 'device_group', meta.v[0]));
  });

  it('puts real spec errors under the inputs that caused them', () => {
    const state = stateOf(asView(view), { ram: 'lots', drive_size_1: 'huge', nic_interface_4: 'token-ring', device_fps_6: '-3', name: 'bad/name' });
    const back = draftFromState(state as never, meta);
    const result = parseSpec(specInputFromDraft(back, recipeOf(FULL)));
    expect(result.ok).toBe(false);
    const blocks = result.ok ? [] : result.errors.map((e) => blockForPath(e.path, meta).split('.')[0]);
    expect(new Set(blocks)).toEqual(new Set(['name', 'ram', 'drive_size_1', 'nic_interface_4', 'device_fps_6']));
  });
});

describe('external selects', () => {
  it('every one the form renders is served by app.options (OPTION_SOURCES), and every source is used', () => {
    const recipe = recipeOf(FULL);
    const view = requestModal(draftFromRecipe(recipe, undefined, label), [recipe], metaFor(draftFromRecipe(recipe, undefined, label), 0));
    const sources = view.blocks.flatMap((b) => {
      const element = (b as { element?: { type: string; action_id?: string } }).element;
      return element?.type === 'external_select' ? [element.action_id] : [];
    });
    expect(new Set(sources)).toEqual(new Set(OPTION_SOURCES));
  });
});

describe('parse(render(x))', () => {
  it('a full spec comes back from the rendered form as it went in, from a recipe and from a blank form', () => {
    const recipe = recipeOf(FULL);
    const draft = draftFromRecipe(recipe, undefined, label);
    const meta = metaFor(draft, 0);
    const view = requestModal(draft, [recipe], meta);
    const back = draftFromState(stateOf(asView(view), {}) as never, meta);
    expect(parsed(specInputFromDraft(back, recipe))).toEqual(parsed(FULL));
    // Without the recipe underneath, the form alone carries every value it shows (the vGPU's type comes from its group at pre-flight).
    const vgpu = { resource_group: VGPU_RESOURCE_GROUP, settings_args: FULL.devices[1]!.settings_args };
    expect(parsed(specInputFromDraft(back, undefined))).toEqual(parsed({ ...FULL, devices: [FULL.devices[0], vgpu, FULL.devices[2]] }));
    // What was typed over the recipe wins.
    const typed = draftFromState(
      stateOf(asView(view), {
        cpu_cores: '8',
        drive_size_0: '60GiB',
        nic_vnet_4: { value: '7', label: 'lab' },
        device_vgpu_6: { checked: ['enable_uvm'] },
      }) as never,
      meta,
    );
    const spec = parsed(specInputFromDraft(typed, recipe));
    expect(spec.vm.cpu_cores).toBe(8);
    expect(spec.drives[0]!.disksize).toBe(60 * 1024 ** 3);
    expect(spec.nics[1]!.vnet).toBe('7');
    expect(spec.devices[1]!.settings_args).toEqual({ frame_rate_limiter: 0, enable_uvm: true });
  });
});

describe("a NIC's static IP address", () => {
  const recipe = recipeOf(FULL);
  const draft = draftFromRecipe(recipe, undefined, label);
  const meta = metaFor(draft, 3);
  const view = requestModal(draft, [recipe], meta);
  const [first, second] = meta.n;
  const specFrom = (typed: Parameters<typeof stateOf>[1]) => parseSpec(specInputFromDraft(draftFromState(stateOf(asView(view), typed) as never, meta), recipe));

  it("is prefilled from the recipe's NIC, optional, and empty where the recipe gives none", () => {
    const block = (row: number) =>
      view.blocks.find((b) => b.block_id === blockId(meta, 'nic_ipaddress', row)) as { optional: boolean; element: { initial_value?: string } };
    expect(block(second!).element.initial_value).toBe('10.4.0.20');
    expect(block(first!).element).not.toHaveProperty('initial_value');
    expect([block(first!).optional, block(second!).optional]).toEqual([true, true]);
  });

  it('goes into the spec as typed, and an emptied one is dropped (the network gives the address)', () => {
    const typed = specFrom({ [`nic_ipaddress_${first}`]: ' 10.3.0.9 ', [`nic_ipaddress_${second}`]: '' });
    expect(typed.ok && typed.value.nics.map((n) => n.ipaddress)).toEqual(['10.3.0.9', undefined]);
    const v6 = specFrom({ [`nic_ipaddress_${first}`]: 'fd00::9' });
    expect(v6.ok && v6.value.nics.map((n) => n.ipaddress)).toEqual(['fd00::9', '10.4.0.20']);
  });

  it('a bad one is an error under its own row’s IP address field', () => {
    const result = specFrom({ [`nic_ipaddress_${second}`]: '10.0.0.300' });
    expect(result.ok ? [] : result.errors).toEqual([{ path: 'nics[1].ipaddress', message: '"10.0.0.300" is not an IP address (IPv4 like 10.0.0.5, or IPv6)' }]);
    expect(blockForPath('nics[1].ipaddress', meta)).toBe(blockId(meta, 'nic_ipaddress', second));
  });
});
