/**
 * "Another like this": the button on a VM the bot made, and the form asking the copy's name
 * (offered `<name>-copy`). Pure: what it shows and how its submission is read back.
 */
import type { types } from '@slack/bolt';
import type { VmRecord } from '../../store/records.js';
import { formatDuration } from '../../vmspec/units.js';
import { defaultCloneName } from '../../workflows/clone-vm.js';
import { clip, escapeClip } from '../escape.js';
import type { FormGate } from './form-gate.js';
import { button, section } from './message-parts.js';

/** The button (its value the VM's run id), and a menu option's value prefix (`clone:<runId>`) should a menu offer it. */
export const CLONE_VM_ACTION = 'vm_clone';
export const CLONE_OPTION_PREFIX = 'clone:';
export const CLONE_MODAL_CALLBACK = 'vm_clone_submit';
export const CLONE_NAME_BLOCK = 'clone_name';

/** What the form carries to its submission: the VM copied, and where it was asked (to answer there). */
export interface CloneModalMeta {
  runId: string;
  channel?: string | undefined;
}

/** Only people who may request VMs may ask for a copy (a new VM); a refusal is shown under the name. */
export const CLONE_FORM_GATE: FormGate = { callbackId: CLONE_MODAL_CALLBACK, asks: 'requester', refusalBlock: () => CLONE_NAME_BLOCK };

export function cloneButton(runId: string): types.Button {
  return button(CLONE_VM_ACTION, 'Another like this', runId);
}

/** The run id a click names: the button's value, or a menu option's `clone:<runId>`. */
export function clonedRunId(value: string | undefined): string | undefined {
  if (!value) return undefined;
  return value.startsWith(CLONE_OPTION_PREFIX) ? value.slice(CLONE_OPTION_PREFIX.length) || undefined : value;
}

export function cloneModal(vm: VmRecord, meta: CloneModalMeta): types.ModalView {
  const lease = vm.lease
    ? `kept ${formatDuration(vm.lease.forMs)} once ready (as ${vm.name}'s lease terms say, within the policy)`
    : 'kept as the policy allows';
  return {
    type: 'modal',
    callback_id: CLONE_MODAL_CALLBACK,
    private_metadata: JSON.stringify(meta),
    title: { type: 'plain_text', text: 'Another like this' },
    submit: { type: 'plain_text', text: 'Request' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(
        `A copy of *${escapeClip(vm.name, 128)}* as it is configured now (VergeOS copies its drives and NICs, with new MAC addresses), powered on once made. ` +
          `It is a new VM of yours, ${lease}; the approval policy and your quota judge it as any new VM.`,
      ),
      {
        type: 'input',
        block_id: CLONE_NAME_BLOCK,
        label: { type: 'plain_text', text: 'Name of the copy' },
        element: { type: 'plain_text_input', action_id: 'value', initial_value: clip(defaultCloneName(vm), 128), max_length: 128 },
      },
    ],
  };
}

/** The name typed, and the form's metadata, from a submission. */
export function cloneSubmission(view: { private_metadata: string; state: { values: Record<string, Record<string, { value?: string | null }>> } }): {
  meta: CloneModalMeta | undefined;
  name: string;
} {
  let meta: CloneModalMeta | undefined;
  try {
    const parsed = JSON.parse(view.private_metadata) as Partial<CloneModalMeta>;
    if (typeof parsed.runId === 'string') meta = { runId: parsed.runId, ...(typeof parsed.channel === 'string' ? { channel: parsed.channel } : {}) };
  } catch {
    meta = undefined;
  }
  return { meta, name: view.state.values[CLONE_NAME_BLOCK]?.value?.value ?? '' };
}
