/**
 * The request modal: a pure function from a draft to a Block Kit view, and back from the view's
 * state to a draft and a spec input. Rows (drives, NICs, devices) carry stable ids in
 * `private_metadata` (never the draft itself), so adding or removing one keeps what was typed.
 */
import type { types } from '@slack/bolt';
import type { Recipe } from '../../vmspec/recipes.js';
import { formatBytes } from '../../vmspec/units.js';
import { DRIVE_INTERFACES, DRIVE_MEDIA, NIC_INTERFACES, VGPU_DEVICE_TYPE, VIDEO_TYPES } from '../../vergeos/enums.js';
import { clip } from '../escape.js';
import { hasSecretPlaceholder, USER_DATA_INPUT_MAX, userDataForForm, userDataFromForm, userDataOf } from './user-data.js';

export const REQUEST_MODAL_CALLBACK = 'vm_request';
export const ACTIONS = {
  recipePick: 'recipe_pick',
  addDrive: 'drive_add',
  removeDrive: 'drive_remove',
  addNic: 'nic_add',
  removeNic: 'nic_remove',
  addDevice: 'device_add',
  removeDevice: 'device_remove',
} as const;
/** external_select action ids, served by app.options(). */
export const OPTION_SOURCES = ['cluster', 'vnet', 'tier', 'media_source', 'resource_group'] as const;
export type OptionSource = (typeof OPTION_SOURCES)[number];

export interface Choice {
  value: string;
  label: string;
}

export interface DriveDraft {
  row: number;
  name?: string | undefined;
  media?: string | undefined;
  size?: string | undefined;
  tier?: Choice | undefined;
  interface?: string | undefined;
  source?: Choice | undefined;
}

export interface ModalDraft {
  recipe?: string | undefined;
  /** A VM name, or with count > 1 a pattern with {n}. */
  name?: string | undefined;
  /** How many VMs (a batch above 1). */
  count?: number | undefined;
  /** How long to keep the VMs: one of KEEP_FOR's values. */
  keepFor?: string | undefined;
  description?: string | undefined;
  cluster?: Choice | undefined;
  cpuCores?: number | undefined;
  ram?: string | undefined;
  uefi?: boolean | undefined;
  secureBoot?: boolean | undefined;
  guestAgent?: boolean | undefined;
  powerOn?: boolean | undefined;
  video?: string | undefined;
  /** User-data as the form shows it: a recipe's secrets are placeholders (user-data.ts). */
  userData?: string | undefined;
  /** The recipe's user-data is too long for a Slack input: it is used as the recipe has it, not shown. */
  userDataKept?: boolean | undefined;
  drives: DriveDraft[];
  nics: Array<{ row: number; vnet?: Choice | undefined; interface?: string | undefined }>;
  devices: DeviceDraft[];
}

/** The device select's value for a virtual TPM (every other value is a resource group's uuid). */
export const TPM_CHOICE: Choice = { value: 'tpm', label: 'Virtual TPM 2.0 (Windows 11, BitLocker)' };

/** vGPU checkboxes: the settings_args key each sets (pyVergeOS's create_vgpu). */
export const VGPU_FLAGS = [
  { key: 'attach_drivers', label: 'Attach the NVIDIA guest drivers ISO' },
  { key: 'disable_vnc', label: 'Disable the VNC console (use RDP)' },
  { key: 'enable_uvm', label: 'Enable unified memory' },
  { key: 'enable_debugging', label: 'Enable CUDA debuggers' },
  { key: 'enable_profiling', label: 'Enable CUDA profilers' },
] as const;

export interface VgpuDraft {
  /** Frames per second; 0 turns the limiter off. */
  frameRate?: number | undefined;
  /** Keys of VGPU_FLAGS that are on. */
  flags: string[];
}

export interface DeviceDraft {
  row: number;
  group?: Choice | undefined;
  /** Shown (and set) when the chosen group is a vGPU pool. */
  vgpu?: VgpuDraft | undefined;
}

/** What private_metadata holds: a generation (new block ids after a prefill) and row ids. */
export interface ModalMeta {
  g: number;
  r?: string | undefined;
  d: number[];
  n: number[];
  v: number[];
  /** Device rows showing vGPU settings. */
  x?: number[] | undefined;
  next: number;
  /** The requester's quota use, shown at the top (carried so a rebuilt form keeps it). */
  q?: string | undefined;
  /** 1: the recipe's user-data is kept as it is (too long to edit in Slack). */
  u?: 1 | undefined;
}

export const MAX_MODAL_BLOCKS = 100;

/** "Keep for" choices: a value (duration text, or `forever`) and its label. */
export const KEEP_FOR = [
  { value: '1d', label: '1 day', ms: 86_400_000 },
  { value: '7d', label: '7 days', ms: 7 * 86_400_000 },
  { value: '30d', label: '30 days', ms: 30 * 86_400_000 },
  { value: 'forever', label: 'Until deleted', ms: undefined },
] as const;

/** The choices a recipe allows (none longer than its maximum; "until deleted" only without one) and its default. */
export function keepForChoices(recipe: Recipe | undefined): { choices: Array<(typeof KEEP_FOR)[number]>; initial: string } {
  const max = recipe?.lease?.maxMs;
  const choices = KEEP_FOR.filter((c) => (c.ms === undefined ? max === undefined : max === undefined || c.ms <= max));
  const def = recipe?.lease?.defaultMs;
  const initial =
    def === undefined
      ? max === undefined
        ? 'forever'
        : choices.at(-1)!.value
      : (KEEP_FOR.find((c) => c.ms === def)?.value ?? choices.filter((c) => c.ms !== undefined && c.ms <= def).at(-1)?.value ?? choices[0]!.value);
  return { choices, initial };
}
const BASE_BLOCKS = 20;
const DRIVE_BLOCKS = 7;
const NIC_BLOCKS = 3;
const DEVICE_BLOCKS = 2;
const VGPU_BLOCKS = 2;

export function blockCount(meta: Pick<ModalMeta, 'd' | 'n' | 'v' | 'x' | 'q'>): number {
  return (
    BASE_BLOCKS +
    (meta.q ? 1 : 0) +
    meta.d.length * DRIVE_BLOCKS +
    meta.n.length * NIC_BLOCKS +
    meta.v.length * DEVICE_BLOCKS +
    (meta.x?.length ?? 0) * VGPU_BLOCKS
  );
}

/** Whether one more row of this kind still fits in Slack's 100 blocks. */
export function canAdd(meta: ModalMeta, kind: 'd' | 'n' | 'v'): boolean {
  const extra = kind === 'd' ? DRIVE_BLOCKS : kind === 'n' ? NIC_BLOCKS : DEVICE_BLOCKS + VGPU_BLOCKS;
  // Room is kept for the quota note and for every device row turning into a vGPU (its settings
  // appear when the group is picked), so a form never outgrows Slack's limit.
  return blockCount({ ...meta, x: meta.v, q: 'note' }) + extra <= MAX_MODAL_BLOCKS;
}

export const blockId = (meta: Pick<ModalMeta, 'g'>, field: string, row?: number): string => `${field}${row === undefined ? '' : `_${row}`}.${meta.g}`;

export function metaFor(draft: ModalDraft, generation: number): ModalMeta {
  const rows = [...draft.drives, ...draft.nics, ...draft.devices].map((r) => r.row);
  return {
    g: generation,
    ...(draft.recipe ? { r: draft.recipe } : {}),
    d: draft.drives.map((d) => d.row),
    n: draft.nics.map((n) => n.row),
    v: draft.devices.map((d) => d.row),
    ...(draft.devices.some((d) => d.vgpu) ? { x: draft.devices.filter((d) => d.vgpu).map((d) => d.row) } : {}),
    next: rows.length ? Math.max(...rows) + 1 : 0,
    ...(draft.userDataKept ? { u: 1 as const } : {}),
  };
}

const text = (t: string): types.PlainTextElement => ({ type: 'plain_text', text: t, emoji: true });
const option = (value: string, label: string): types.PlainTextOption => ({ text: text(clip(label, 75)), value });
const choiceOption = (c: Choice): types.PlainTextOption => option(c.value, c.label);

function staticSelect(actionId: string, values: readonly string[], initial: string | undefined, prompt: string): types.StaticSelect {
  return {
    type: 'static_select',
    action_id: actionId,
    placeholder: text(prompt),
    options: values.map((v) => option(v, v)),
    ...(initial && values.includes(initial) ? { initial_option: option(initial, initial) } : {}),
  };
}

function externalSelect(source: OptionSource, initial: Choice | undefined, prompt: string): types.ExternalSelect {
  return {
    type: 'external_select',
    action_id: source,
    min_query_length: 0,
    placeholder: text(prompt),
    ...(initial ? { initial_option: choiceOption(initial) } : {}),
  };
}

function input(
  block_id: string,
  label: string,
  element: types.InputBlockElement,
  opts: { optional?: boolean; hint?: string; dispatch?: boolean } = {},
): types.InputBlock {
  return {
    type: 'input',
    block_id,
    label: text(label),
    element,
    optional: opts.optional ?? false,
    ...(opts.hint ? { hint: text(opts.hint) } : {}),
    ...(opts.dispatch ? { dispatch_action: true } : {}),
  };
}

function textInput(initial: string | undefined, prompt: string, extra: Partial<types.PlainTextInput> = {}): types.PlainTextInput {
  return { type: 'plain_text_input', action_id: 'value', placeholder: text(prompt), ...(initial ? { initial_value: initial } : {}), ...extra };
}

function rowButtons(block_id: string, removeAction: string, row: number, label: string): types.ActionsBlock {
  return { type: 'actions', block_id, elements: [{ type: 'button', action_id: removeAction, value: String(row), text: text(`Remove ${label}`) }] };
}

/** The user-data input; or, for a recipe's user-data too long for one, a line saying it is used as it is. */
function userDataField(draft: ModalDraft, recipe: Recipe | undefined, meta: ModalMeta): types.KnownBlock {
  if (draft.userDataKept) {
    const length = (recipe && userDataOf(recipe.draft.vm)?.length) ?? 0;
    const says = `*Cloud-init user-data:* the recipe's (${length} characters) is used as it is; it is too long to edit in Slack.`;
    return { type: 'context', block_id: blockId(meta, 'user_data'), elements: [{ type: 'mrkdwn', text: says }] };
  }
  const placeholders = draft.userData !== undefined && hasSecretPlaceholder(draft.userData);
  return input(
    blockId(meta, 'user_data'),
    'Cloud-init user-data',
    textInput(draft.userData, '#cloud-config …', { multiline: true, max_length: USER_DATA_INPUT_MAX }),
    {
      optional: true,
      hint: placeholders
        ? "Sent as the user-data file (nocloud datasource). Each «secret N from the recipe» stands for the recipe's value and is put back when you submit."
        : 'Sent as the user-data file (nocloud datasource).',
    },
  );
}

export function requestModal(draft: ModalDraft, recipes: Recipe[], meta: ModalMeta, batchMax = 20): types.ModalView {
  const recipeOptions = recipes.slice(0, 100).map((r) => option(r.id, `${r.title}`));
  const chosenRecipe = recipes.find((r) => r.id === draft.recipe);
  const blocks: types.KnownBlock[] = [];
  if (meta.q) blocks.push({ type: 'context', block_id: blockId(meta, 'quota'), elements: [{ type: 'mrkdwn', text: clip(meta.q, 2000) }] });
  blocks.push(
    input(
      blockId(meta, 'recipe'),
      'Recipe',
      {
        type: 'static_select',
        action_id: ACTIONS.recipePick,
        placeholder: text('Start from a recipe (optional)'),
        options: recipeOptions.length ? recipeOptions : [option('none', 'No recipes available')],
        ...(chosenRecipe ? { initial_option: option(chosenRecipe.id, chosenRecipe.title) } : {}),
      },
      { optional: true, dispatch: true, ...(chosenRecipe?.description ? { hint: clip(chosenRecipe.description, 150) } : {}) },
    ),
    input(blockId(meta, 'name'), 'VM name', textInput(draft.name, 'e.g. web-01, or web-{n} for several', { max_length: 128 }), {
      hint: 'Letters, digits, spaces, dots, dashes and underscores. For several VMs, {n} becomes 1, 2, 3…',
    }),
    input(
      blockId(meta, 'count'),
      'How many VMs',
      {
        type: 'number_input',
        action_id: 'value',
        is_decimal_allowed: false,
        min_value: '1',
        max_value: String(batchMax),
        ...(draft.count && draft.count > 1 ? { initial_value: String(draft.count) } : {}),
      },
      { optional: true, hint: `1 to ${batchMax}; more than one is a batch, checked and approved as a whole.` },
    ),
    input(blockId(meta, 'description'), 'Description', textInput(draft.description, 'What is it for?', { max_length: 2048 }), { optional: true }),
    input(blockId(meta, 'cluster'), 'Cluster', externalSelect('cluster', draft.cluster, 'Choose a cluster'), {
      optional: true,
      hint: "Leave empty for VergeOS's default cluster.",
    }),
    input(blockId(meta, 'cpu_cores'), 'CPU cores', {
      type: 'number_input',
      action_id: 'value',
      is_decimal_allowed: false,
      min_value: '1',
      max_value: '1024',
      ...(draft.cpuCores ? { initial_value: String(draft.cpuCores) } : {}),
    }),
    input(blockId(meta, 'ram'), 'RAM', textInput(draft.ram, 'e.g. 8GiB or 8192 (MB)')),
    input(
      blockId(meta, 'flags'),
      'Firmware and agent',
      {
        type: 'checkboxes',
        action_id: 'value',
        options: [option('uefi', 'UEFI boot'), option('secure_boot', 'Secure boot (needs UEFI)'), option('guest_agent', 'QEMU guest agent')],
        ...(() => {
          const initial = [
            draft.uefi && option('uefi', 'UEFI boot'),
            draft.secureBoot && option('secure_boot', 'Secure boot (needs UEFI)'),
            draft.guestAgent && option('guest_agent', 'QEMU guest agent'),
          ].filter(Boolean) as types.PlainTextOption[];
          return initial.length ? { initial_options: initial } : {};
        })(),
      },
      { optional: true },
    ),
    input(blockId(meta, 'video'), 'Video adapter', staticSelect('value', VIDEO_TYPES, draft.video, 'Default (std)'), { optional: true }),
    userDataField(draft, chosenRecipe, meta),
    (() => {
      const { choices, initial } = keepForChoices(chosenRecipe);
      const chosen = choices.find((c) => c.value === (draft.keepFor ?? initial)) ?? choices.find((c) => c.value === initial)!;
      return input(
        blockId(meta, 'keep_for'),
        'Keep for',
        {
          type: 'static_select',
          action_id: 'value',
          options: choices.map((c) => option(c.value, c.label)),
          initial_option: option(chosen.value, chosen.label),
        },
        {
          hint: chosenRecipe?.lease?.maxMs
            ? 'Then powered off, and deleted after a grace period unless extended.'
            : 'With a time limit, the VM is powered off then, and deleted after a grace period unless extended.',
        },
      );
    })(),
    input(
      blockId(meta, 'power_on'),
      'After creation',
      {
        type: 'checkboxes',
        action_id: 'value',
        options: [option('power_on', 'Power the VM on')],
        ...(draft.powerOn ? { initial_options: [option('power_on', 'Power the VM on')] } : {}),
      },
      { optional: true },
    ),
  );

  blocks.push(
    { type: 'divider' },
    { type: 'section', block_id: blockId(meta, 'drives_header'), text: { type: 'mrkdwn', text: `*Drives* (${draft.drives.length})` } },
  );
  for (const [i, d] of draft.drives.entries()) {
    const n = i + 1;
    blocks.push(
      input(blockId(meta, 'drive_name', d.row), `Drive ${n}: name`, textInput(d.name, `e.g. OS Drive`, { max_length: 128 }), { optional: true }),
      input(blockId(meta, 'drive_media', d.row), `Drive ${n}: media`, staticSelect('value', DRIVE_MEDIA, d.media ?? 'disk', 'disk')),
      input(blockId(meta, 'drive_size', d.row), `Drive ${n}: size`, textInput(d.size, 'e.g. 100GiB (new disks)'), { optional: true }),
      input(blockId(meta, 'drive_tier', d.row), `Drive ${n}: storage tier`, externalSelect('tier', d.tier, 'Tier (free space shown)'), { optional: true }),
      input(
        blockId(meta, 'drive_interface', d.row),
        `Drive ${n}: interface`,
        staticSelect('value', DRIVE_INTERFACES, d.interface ?? 'virtio-scsi', 'virtio-scsi'),
      ),
      input(
        blockId(meta, 'drive_source', d.row),
        `Drive ${n}: media source`,
        externalSelect('media_source', d.source, 'ISO or image (CD-ROM, import, clone)'),
        { optional: true },
      ),
      rowButtons(blockId(meta, 'drive_row', d.row), ACTIONS.removeDrive, d.row, `drive ${n}`),
    );
  }
  blocks.push({
    type: 'actions',
    block_id: blockId(meta, 'drives_add'),
    elements: canAdd(meta, 'd')
      ? [{ type: 'button', action_id: ACTIONS.addDrive, text: text('Add drive'), value: 'drive' }]
      : [{ type: 'button', action_id: ACTIONS.addDrive, text: text('Form is full'), value: 'full' }],
  });

  blocks.push(
    { type: 'divider' },
    { type: 'section', block_id: blockId(meta, 'nics_header'), text: { type: 'mrkdwn', text: `*Network interfaces* (${draft.nics.length})` } },
  );
  for (const [i, nic] of draft.nics.entries()) {
    blocks.push(
      input(blockId(meta, 'nic_vnet', nic.row), `NIC ${i + 1}: network`, externalSelect('vnet', nic.vnet, 'Choose a network')),
      input(blockId(meta, 'nic_interface', nic.row), `NIC ${i + 1}: interface`, staticSelect('value', NIC_INTERFACES, nic.interface ?? 'virtio', 'virtio')),
      rowButtons(blockId(meta, 'nic_row', nic.row), ACTIONS.removeNic, nic.row, `NIC ${i + 1}`),
    );
  }
  blocks.push({
    type: 'actions',
    block_id: blockId(meta, 'nics_add'),
    elements: [
      { type: 'button', action_id: ACTIONS.addNic, text: text(canAdd(meta, 'n') ? 'Add NIC' : 'Form is full'), value: canAdd(meta, 'n') ? 'nic' : 'full' },
    ],
  });

  blocks.push({
    type: 'section',
    block_id: blockId(meta, 'devices_header'),
    text: { type: 'mrkdwn', text: `*Devices: GPU, PCI, USB, TPM* (${draft.devices.length})` },
  });
  for (const [i, dev] of draft.devices.entries()) {
    const n = i + 1;
    blocks.push(
      input(blockId(meta, 'device_group', dev.row), `Device ${n}`, externalSelect('resource_group', dev.group, 'A passthrough device, a vGPU or a TPM'), {
        dispatch: true,
      }),
    );
    if (dev.vgpu) {
      const on = VGPU_FLAGS.filter((f) => dev.vgpu!.flags.includes(f.key)).map((f) => option(f.key, f.label));
      blocks.push(
        input(
          blockId(meta, 'device_fps', dev.row),
          `Device ${n}: frame rate limit (fps)`,
          {
            type: 'number_input',
            action_id: 'value',
            is_decimal_allowed: false,
            min_value: '0',
            max_value: '240',
            ...(dev.vgpu.frameRate === undefined ? {} : { initial_value: String(dev.vgpu.frameRate) }),
          },
          { optional: true, hint: "0 turns the limiter off (compute work); empty keeps VergeOS's default." },
        ),
        input(
          blockId(meta, 'device_vgpu', dev.row),
          `Device ${n}: vGPU options`,
          { type: 'checkboxes', action_id: 'value', options: VGPU_FLAGS.map((f) => option(f.key, f.label)), ...(on.length ? { initial_options: on } : {}) },
          { optional: true },
        ),
      );
    }
    blocks.push(rowButtons(blockId(meta, 'device_row', dev.row), ACTIONS.removeDevice, dev.row, `device ${n}`));
  }
  blocks.push({
    type: 'actions',
    block_id: blockId(meta, 'devices_add'),
    elements: [
      {
        type: 'button',
        action_id: ACTIONS.addDevice,
        text: text(canAdd(meta, 'v') ? 'Add device' : 'Form is full'),
        value: canAdd(meta, 'v') ? 'device' : 'full',
      },
    ],
  });

  return {
    type: 'modal',
    callback_id: REQUEST_MODAL_CALLBACK,
    title: text('Request a VM'),
    submit: text('Submit for approval'),
    close: text('Cancel'),
    private_metadata: JSON.stringify(meta),
    blocks,
  };
}

/** A recipe as a draft for the modal; external-select labels come from what is cached, else the key. */
export function draftFromRecipe(recipe: Recipe | undefined, name: string | undefined, labelFor: (source: OptionSource, value: string) => string): ModalDraft {
  if (!recipe) return { drives: [], nics: [], devices: [], cpuCores: 2, ram: '4GiB', ...(name ? { name } : {}) };
  const d = recipe.draft;
  const choice = (source: OptionSource, value: string | undefined): Choice | undefined =>
    value === undefined ? undefined : { value, label: labelFor(source, value) };
  // Secrets never go to Slack: the form shows placeholders, and too long a text is not shown at all.
  const recipeUserData = userDataOf(d.vm);
  const shown = recipeUserData === undefined ? undefined : userDataForForm(recipeUserData).text;
  const fits = shown === undefined || shown.length <= USER_DATA_INPUT_MAX;
  return {
    recipe: recipe.id,
    name: name ?? d.vm.name,
    description: d.vm.description ?? recipe.description,
    cluster: choice('cluster', d.vm.cluster),
    cpuCores: d.vm.cpu_cores,
    ram: formatBytes(d.vm.ram * 1024 * 1024).replace(' ', ''),
    uefi: d.vm.uefi,
    secureBoot: d.vm.secure_boot,
    guestAgent: d.vm.guest_agent,
    powerOn: d.power_on,
    video: d.vm.video,
    userData: fits ? shown : undefined,
    ...(fits ? {} : { userDataKept: true }),
    drives: d.drives.map((drive, row) => ({
      row,
      name: drive.name,
      media: drive.media,
      size: drive.disksize === undefined ? undefined : formatBytes(drive.disksize).replace(' ', ''),
      tier: choice('tier', drive.preferred_tier),
      interface: drive.interface,
      source: choice('media_source', drive.media_source),
    })),
    nics: d.nics.map((nic, i) => ({ row: d.drives.length + i, vnet: choice('vnet', nic.vnet), interface: nic.interface })),
    devices: d.devices.map((dev, i) => ({
      row: d.drives.length + d.nics.length + i,
      group: dev.type === 'tpm' ? TPM_CHOICE : choice('resource_group', dev.resource_group),
      ...(dev.type === VGPU_DEVICE_TYPE ? { vgpu: vgpuDraft(dev.settings_args) } : {}),
    })),
  };
}

function vgpuDraft(settings: Record<string, unknown>): VgpuDraft {
  const fps = settings.frame_rate_limiter;
  return { ...(typeof fps === 'number' ? { frameRate: fps } : {}), flags: VGPU_FLAGS.filter((f) => settings[f.key] === true).map((f) => f.key) };
}

/** The draft with vGPU settings shown exactly on the rows whose group is a vGPU pool. */
export function withVgpuRows(draft: ModalDraft, isVgpu: (group: string) => boolean): ModalDraft {
  return {
    ...draft,
    devices: draft.devices.map((d) => {
      const vgpu = d.group !== undefined && d.group.value !== TPM_CHOICE.value && isVgpu(d.group.value);
      return vgpu ? { ...d, vgpu: d.vgpu ?? { flags: [] } } : { row: d.row, group: d.group };
    }),
  };
}

type StateValues = Record<
  string,
  Record<
    string,
    { type: string; value?: string | null; selected_option?: { value: string; text: { text: string } } | null; selected_options?: Array<{ value: string }> }
  >
>;

/** What the user has in the form now (for submit, and to rebuild the view when rows change). */
export function draftFromState(values: StateValues, meta: ModalMeta): ModalDraft {
  const field = (name: string, row?: number) => {
    const block = values[blockId(meta, name, row)];
    return block ? Object.values(block)[0] : undefined;
  };
  const str = (name: string, row?: number) => {
    const v = field(name, row);
    const raw = v?.value ?? v?.selected_option?.value ?? undefined;
    return raw === null || raw === undefined || raw === '' ? undefined : raw;
  };
  const pick = (name: string, row?: number): Choice | undefined => {
    const o = field(name, row)?.selected_option;
    return o ? { value: o.value, label: o.text.text } : undefined;
  };
  const checkedIn = (name: string, row?: number) => new Set((field(name, row)?.selected_options ?? []).map((o) => o.value));
  const checked = (name: string) => checkedIn(name);
  const flags = checked('flags');
  const cores = str('cpu_cores');
  return {
    recipe: str('recipe') ?? meta.r,
    name: str('name'),
    count: str('count') === undefined ? undefined : Number(str('count')),
    description: str('description'),
    cluster: pick('cluster'),
    cpuCores: cores === undefined ? undefined : Number(cores),
    ram: str('ram'),
    uefi: flags.has('uefi'),
    secureBoot: flags.has('secure_boot'),
    guestAgent: flags.has('guest_agent'),
    powerOn: checked('power_on').has('power_on'),
    keepFor: str('keep_for'),
    video: str('video'),
    userData: meta.u ? undefined : str('user_data'),
    ...(meta.u ? { userDataKept: true } : {}),
    drives: meta.d.map((row) => ({
      row,
      name: str('drive_name', row),
      media: str('drive_media', row),
      size: str('drive_size', row),
      tier: pick('drive_tier', row),
      interface: str('drive_interface', row),
      source: pick('drive_source', row),
    })),
    nics: meta.n.map((row) => ({ row, vnet: pick('nic_vnet', row), interface: str('nic_interface', row) })),
    devices: meta.v.map((row) => {
      const fps = str('device_fps', row);
      const vgpu = meta.x?.includes(row) ? { ...(fps === undefined ? {} : { frameRate: Number(fps) }), flags: [...checkedIn('device_vgpu', row)] } : undefined;
      return { row, group: pick('device_group', row), ...(vgpu ? { vgpu } : {}) };
    }),
  };
}

/**
 * The draft as spec input. Fields the modal does not show (rtc_base, os_family, other cloud-init
 * files, console password hash, settings_args…) come from the recipe it started from, and so do
 * the secrets its user-data shows as placeholders.
 */
export function specInputFromDraft(draft: ModalDraft, recipe: Recipe | undefined): Record<string, unknown> {
  const base = recipe?.draft;
  const otherFiles = (base?.vm.cloudinit_files ?? []).filter((f) => f.name.replace(/^\//, '') !== 'user-data');
  const recipeUserData = base ? userDataOf(base.vm) : undefined;
  const userData = draft.userDataKept ? recipeUserData : userDataFromForm(draft.userData, recipeUserData);
  const files = [...(userData ? [{ name: 'user-data', contents: userData }] : []), ...otherFiles];
  const vm: Record<string, unknown> = {
    ...(base ? { ...base.vm } : {}),
    name: draft.name ?? '',
    description: draft.description,
    cluster: draft.cluster?.value,
    cpu_cores: draft.cpuCores ?? base?.vm.cpu_cores,
    ram: draft.ram ?? base?.vm.ram,
    uefi: draft.uefi,
    secure_boot: draft.secureBoot,
    guest_agent: draft.guestAgent,
    video: draft.video ?? base?.vm.video,
    cloudinit_files: files.length ? files : undefined,
    cloudinit_datasource: files.length ? (base?.vm.cloudinit_datasource ?? 'nocloud') : base?.vm.cloudinit_datasource === 'none' ? 'none' : undefined,
  };
  for (const key of Object.keys(vm)) if (vm[key] === undefined) delete vm[key];
  const baseDevices = base?.devices ?? [];
  return {
    vm,
    drives: draft.drives.map((d) => {
      const fromRecipe = base?.drives[d.row];
      return Object.fromEntries(
        Object.entries({
          name: d.name,
          description: fromRecipe?.description,
          media: d.media ?? 'disk',
          disksize: d.size,
          preferred_tier: d.tier?.value,
          interface: d.interface,
          media_source: d.source?.value,
          show_pt: fromRecipe?.show_pt,
        }).filter(([, v]) => v !== undefined),
      );
    }),
    nics: draft.nics.map((n) => {
      // Rows that came from the recipe keep what the form does not show (name, enabled).
      const fromRecipe = base?.nics[n.row - (base?.drives.length ?? 0)];
      return Object.fromEntries(
        Object.entries({ vnet: n.vnet?.value, interface: n.interface, name: fromRecipe?.name, enabled: fromRecipe?.enabled }).filter(
          ([, v]) => v !== undefined,
        ),
      );
    }),
    devices: draft.devices.map((d) => {
      // A row from the recipe keeps what the form does not show (type, count, other settings) while its group is unchanged.
      const fromRecipe =
        base?.devices[d.row - (base?.drives.length ?? 0) - (base?.nics.length ?? 0)] ?? baseDevices.find((b) => b.resource_group === d.group?.value);
      if (d.group?.value === TPM_CHOICE.value) return { type: 'tpm', ...(fromRecipe?.type === 'tpm' ? { settings_args: fromRecipe.settings_args } : {}) };
      const same = fromRecipe !== undefined && fromRecipe.type !== 'tpm' && fromRecipe.resource_group === d.group?.value;
      const settings: Record<string, unknown> = { ...(same ? fromRecipe.settings_args : {}) };
      if (d.vgpu) {
        if (d.vgpu.frameRate !== undefined) settings.frame_rate_limiter = d.vgpu.frameRate;
        else delete settings.frame_rate_limiter;
        for (const f of VGPU_FLAGS) {
          if (d.vgpu.flags.includes(f.key)) settings[f.key] = true;
          else delete settings[f.key];
        }
      }
      return {
        resource_group: d.group?.value,
        settings_args: settings,
        ...(same && fromRecipe.type ? { type: fromRecipe.type } : {}),
        ...(same ? { count: fromRecipe.count } : {}),
      };
    }),
    power_on: draft.powerOn ?? false,
  };
}

/** Map a spec field error (`drives[1].disksize`) to the block that shows it. */
export function blockForPath(path: string, meta: ModalMeta): string {
  const row = (list: number[], index: string | undefined) => list[Number(index ?? 0)];
  const m = /^(drives|nics|devices)\[(\d+)\](?:\.(\w+))?/.exec(path);
  if (m) {
    const [, list, index, field] = m;
    if (list === 'drives') {
      const target =
        {
          name: 'drive_name',
          media: 'drive_media',
          disksize: 'drive_size',
          preferred_tier: 'drive_tier',
          interface: 'drive_interface',
          media_source: 'drive_source',
        }[field ?? 'disksize'] ?? 'drive_size';
      return blockId(meta, target, row(meta.d, index));
    }
    if (list === 'nics') return blockId(meta, field === 'interface' ? 'nic_interface' : 'nic_vnet', row(meta.n, index));
    const deviceRow = row(meta.v, index);
    if (field === 'settings_args' && deviceRow !== undefined && meta.x?.includes(deviceRow)) {
      return blockId(meta, /settings_args\.frame_rate_limiter/.test(path) ? 'device_fps' : 'device_vgpu', deviceRow);
    }
    return blockId(meta, 'device_group', deviceRow);
  }
  const vmField = /^vm\.(\w+)/.exec(path)?.[1];
  const target: Record<string, string> = {
    name: 'name',
    description: 'description',
    cluster: 'cluster',
    cpu_cores: 'cpu_cores',
    ram: 'ram',
    uefi: 'flags',
    secure_boot: 'flags',
    guest_agent: 'flags',
    video: 'video',
    cloudinit_files: 'user_data',
    cloudinit_datasource: 'user_data',
    power_on: 'power_on',
  };
  if (path === 'power_on') return blockId(meta, 'power_on');
  if (path === 'count') return blockId(meta, 'count');
  if (path === 'keep_for') return blockId(meta, 'keep_for');
  return blockId(meta, (vmField && target[vmField]) ?? 'name');
}
