/**
 * The request form's data: the draft (what the form shows, and what comes back from it), the
 * `private_metadata` it carries, and the fixed choices and ids its fields use.
 */
import type { Recipe } from '../../../vmspec/recipes.js';

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

/** Slack's limit on blocks in a modal. */
export const MAX_MODAL_BLOCKS = 100;

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

export interface NicDraft {
  row: number;
  vnet?: Choice | undefined;
  interface?: string | undefined;
  /** A static address as typed; empty: the network gives one. */
  ipaddress?: string | undefined;
}

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
  nics: NicDraft[];
  devices: DeviceDraft[];
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

/** What decides which blocks a form shows, and so how many. */
export type LayoutMeta = Pick<ModalMeta, 'd' | 'n' | 'v' | 'x' | 'q'>;

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

/** A field's block id: its name, its row if it repeats, and the generation (so a prefill shows new values). */
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
