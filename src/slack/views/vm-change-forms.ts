/**
 * The forms that change a VM the bot made (resize, add a disk, grow one, add a NIC, take a
 * snapshot, restore or delete one), opened from the "More…" menu of `/vm-create mine` and App
 * Home, each filled with the VM's current values. Block ids are the field names the core's
 * refusals use (`cpu_cores`, `ram`, `size`, …), so a refusal lands under its input. Pure.
 */
import type { types } from '@slack/bolt';
import { driveName } from '../../plan/plan.js';
import type { VmRecord } from '../../store/records.js';
import type { Snapshot } from '../../vergeos/types.js';
import { formatBytes, formatMegabytes } from '../../vmspec/units.js';
import { clip, escapeClip } from '../escape.js';
import { externalSelect } from './request-form/elements.js';
import { section } from './message-parts.js';
import { CLONE_OPTION_PREFIX } from './clone-modal.js';

/** The "More…" menu's action id (a select: an overflow menu holds at most five items, and these are seven with the copy). */
export const VM_MORE = 'vm_more';

export const CHANGE_FORMS = {
  resize: 'vm_change_resize',
  disk_add: 'vm_change_disk_add',
  disk_grow: 'vm_change_disk_grow',
  nic_add: 'vm_change_nic_add',
  snapshot_create: 'vm_change_snapshot_create',
  snapshots: 'vm_change_snapshots',
} as const;
export type ChangeForm = keyof typeof CHANGE_FORMS;

const MORE_LABELS: Record<ChangeForm, string> = {
  resize: 'Resize',
  disk_add: 'Add disk',
  disk_grow: 'Grow disk',
  nic_add: 'Add NIC',
  snapshot_create: 'Take snapshot',
  snapshots: 'Snapshots…',
};

/** Every change form's callback_id. */
export const CHANGE_FORM_CALLBACKS: readonly string[] = Object.values(CHANGE_FORMS);

/** The form a callback_id names. */
export function formOfCallback(callbackId: string): ChangeForm | undefined {
  return (Object.keys(CHANGE_FORMS) as ChangeForm[]).find((f) => CHANGE_FORMS[f] === callbackId);
}

/** Snapshot expiry choices (absent: never). */
export const EXPIRY_CHOICES = [
  { value: '1d', label: '1 day', ms: 86_400_000 },
  { value: '7d', label: '7 days', ms: 7 * 86_400_000 },
  { value: '30d', label: '30 days', ms: 30 * 86_400_000 },
  { value: 'never', label: 'Never', ms: undefined },
] as const;

export const OPERATIONS = { restore: 'restore', delete: 'delete' } as const;
/** The checkbox values. */
export const RESTART_VALUE = 'restart';
export const POWER_OFF_VALUE = 'power_off';

/** What a form carries: the VM's run id, and the channel the menu was used in (where to answer). */
export interface ChangeFormMeta {
  runId: string;
  channel?: string | undefined;
}

export function readFormMeta(privateMetadata: string): ChangeFormMeta | undefined {
  try {
    const meta = JSON.parse(privateMetadata) as Partial<ChangeFormMeta>;
    return typeof meta.runId === 'string' ? { runId: meta.runId, ...(typeof meta.channel === 'string' ? { channel: meta.channel } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

const plain = (text: string): types.PlainTextElement => ({ type: 'plain_text', text });
const option = (value: string, label: string, description?: string): types.PlainTextOption => ({
  text: plain(clip(label, 75)),
  value,
  ...(description ? { description: plain(clip(description, 75)) } : {}),
});

function input(block_id: string, label: string, element: types.InputBlockElement, opts: { optional?: boolean; hint?: string } = {}): types.InputBlock {
  return { type: 'input', block_id, label: plain(label), element, optional: opts.optional ?? false, ...(opts.hint ? { hint: plain(opts.hint) } : {}) };
}

const textInput = (initial?: string, placeholder?: string): types.PlainTextInput => ({
  type: 'plain_text_input',
  action_id: 'value',
  ...(initial ? { initial_value: initial } : {}),
  ...(placeholder ? { placeholder: plain(placeholder) } : {}),
});

/** The "More…" select on a live VM: each option names the form and the VM's run id. */
export function moreMenu(runId: string): types.StaticSelect {
  return {
    type: 'static_select',
    action_id: VM_MORE,
    placeholder: plain('More…'),
    options: [
      ...(Object.keys(CHANGE_FORMS) as ChangeForm[]).map((f) => option(`${f}:${runId}`, MORE_LABELS[f])),
      // A copy is a new VM (filed under the creation rules), opened by clone-vm.ts.
      option(`${CLONE_OPTION_PREFIX}${runId}`, 'Another like this'),
    ],
  };
}

/** The form and run id a "More…" choice names. */
export function parseMoreChoice(value: string): { form: ChangeForm; runId: string } | undefined {
  const at = value.indexOf(':');
  const form = value.slice(0, at) as ChangeForm;
  return at > 0 && form in CHANGE_FORMS ? { form, runId: value.slice(at + 1) } : undefined;
}

function modal(form: ChangeForm, vm: VmRecord, meta: ChangeFormMeta, title: string, blocks: types.KnownBlock[], submit: string | undefined): types.ModalView {
  return {
    type: 'modal',
    callback_id: CHANGE_FORMS[form],
    private_metadata: JSON.stringify(meta),
    title: plain(clip(title, 24)),
    ...(submit ? { submit: plain(submit) } : {}),
    close: plain('Cancel'),
    blocks: [section(`*${escapeClip(vm.name, 128)}* · VM key ${vm.keys.vmKey} · now ${sizeOf(vm)}`), ...blocks],
  };
}

/** "4 vCPU, 8 GiB RAM": a VM's size as its record has it now. */
export function sizeOf(vm: Pick<VmRecord, 'spec'>): string {
  return `${vm.spec.vm.cpu_cores} vCPU, ${formatMegabytes(vm.spec.vm.ram)} RAM`;
}

export function resizeForm(vm: VmRecord, meta: ChangeFormMeta): types.ModalView {
  return modal(
    'resize',
    vm,
    meta,
    'Resize',
    [
      input('cpu_cores', 'CPU cores', {
        type: 'number_input',
        action_id: 'value',
        is_decimal_allowed: false,
        min_value: '1',
        max_value: '1024',
        initial_value: String(vm.spec.vm.cpu_cores),
      }),
      input('ram', 'RAM', textInput(formatMegabytes(vm.spec.vm.ram), 'e.g. 16GiB or 16384 (MB)'), { hint: 'Rounded up to 256 MB.' }),
      input(
        'restart',
        'Restart',
        {
          type: 'checkboxes',
          action_id: 'value',
          options: [option(RESTART_VALUE, 'Power-cycle it now if it is running', 'otherwise the new size waits for its next restart')],
        },
        { optional: true },
      ),
    ],
    'Resize',
  );
}

/** A name not yet taken among `taken`: `prefix-N`. */
function freeName(prefix: string, taken: readonly string[]): string {
  for (let n = taken.length + 1; ; n++) if (!taken.includes(`${prefix}-${n}`)) return `${prefix}-${n}`;
}

export function diskAddForm(vm: VmRecord, meta: ChangeFormMeta): types.ModalView {
  const taken = vm.spec.drives.map((d, i) => driveName(d, i));
  return modal(
    'disk_add',
    vm,
    meta,
    'Add disk',
    [
      input('name', 'Name', textInput(freeName('data', taken))),
      input('size', 'Size', textInput(undefined, 'e.g. 50GiB'), { optional: true, hint: 'Needed for a disk; none for a CD-ROM.' }),
      input('tier', 'Storage tier', externalSelect('tier', undefined, 'Tier 1 unless chosen'), { optional: true }),
      input('media', 'CD-ROM from media', externalSelect('media_source', undefined, 'Choose an ISO for a CD-ROM'), {
        optional: true,
        hint: 'Chosen: a CD-ROM with this media is added instead of a disk.',
      }),
    ],
    'Add',
  );
}

export function diskGrowForm(vm: VmRecord, meta: ChangeFormMeta): types.ModalView {
  const disks = vm.spec.drives.map((d, i) => ({ name: driveName(d, i), drive: d })).filter((d) => d.drive.media === 'disk');
  if (!disks.length) return modal('disk_grow', vm, meta, 'Grow disk', [section('It has no disks to grow.')], undefined);
  const options = disks
    .slice(0, 100)
    .map(({ name, drive }) => option(name, `${name} — ${drive.disksize === undefined ? 'its image size' : formatBytes(drive.disksize)}`));
  return modal(
    'disk_grow',
    vm,
    meta,
    'Grow disk',
    [
      input('drive', 'Drive', { type: 'static_select', action_id: 'value', options, initial_option: options[0]! }),
      input('to', 'New size', textInput(undefined, 'e.g. 200GiB'), { hint: 'Disks only grow: give more than it has now.' }),
    ],
    'Grow',
  );
}

export function nicAddForm(vm: VmRecord, meta: ChangeFormMeta): types.ModalView {
  const taken = vm.spec.nics.map((n, i) => n.name ?? `nic_${i}`);
  return modal(
    'nic_add',
    vm,
    meta,
    'Add NIC',
    [
      input('vnet', 'Network', externalSelect('vnet', undefined, 'Choose a network')),
      input('name', 'Name', textInput(freeName('nic', taken))),
      input('ipaddress', 'Static address', textInput(undefined, 'e.g. 10.0.0.5'), { optional: true, hint: 'Empty: the network gives one (DHCP).' }),
    ],
    'Add',
  );
}

/** `web-01-20250301-1405` (UTC), the default name of a snapshot taken at `now`. */
export function snapshotName(vmName: string, now: number): string {
  const iso = new Date(now).toISOString();
  return `${vmName}-${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 16).replace(':', '')}`;
}

export function snapshotCreateForm(vm: VmRecord, meta: ChangeFormMeta, now: number): types.ModalView {
  const choices = EXPIRY_CHOICES.map((c) => option(c.value, c.label));
  return modal(
    'snapshot_create',
    vm,
    meta,
    'Take snapshot',
    [
      input('name', 'Name', textInput(snapshotName(vm.name, now))),
      input('expires', 'Delete it after', { type: 'static_select', action_id: 'value', options: choices, initial_option: choices[1]! }),
    ],
    'Take',
  );
}

/** The restore warning, plainly. */
export const RESTORE_LOSS = 'Restoring reverts the VM in place to the snapshot: everything written to it since the snapshot was taken is lost.';

export function snapshotsForm(vm: VmRecord, meta: ChangeFormMeta, snapshots: readonly Snapshot[], running: boolean): types.ModalView {
  if (!snapshots.length) return modal('snapshots', vm, meta, 'Snapshots', [section('It has no snapshots. Take one from the More… menu.')], undefined);
  const options = snapshots
    .slice(0, 100)
    .map((s) => option(s.key, s.name, `taken ${s.createdAt.slice(0, 16).replace('T', ' ')} UTC${s.expiresAt ? '' : ', never expires'}`));
  const operations = [option(OPERATIONS.restore, 'Restore it (in place)'), option(OPERATIONS.delete, 'Delete it')];
  return modal(
    'snapshots',
    vm,
    meta,
    'Snapshots',
    [
      input('snapshot', 'Snapshot', { type: 'static_select', action_id: 'value', options, initial_option: options[0]! }),
      input('operation', 'Do', { type: 'radio_buttons', action_id: 'value', options: operations }),
      section(`:warning: ${RESTORE_LOSS}`),
      ...(running
        ? [
            input(
              'power_off',
              'It is running',
              {
                type: 'checkboxes',
                action_id: 'value',
                options: [option(POWER_OFF_VALUE, 'Power it off first', 'needed to restore; not for a delete')],
              },
              { optional: true },
            ),
          ]
        : []),
    ],
    'Go',
  );
}
