/**
 * A change form's submission read into the core's `VmChange` (sizes with units, as the request
 * form takes them), or field errors by block id. Refusals from the core (`FieldError` paths such
 * as `cpu_cores`, `size`, `to`) are placed by `errorsByBlock` under the input they are about. Pure.
 */
import type { ViewOutput } from '@slack/bolt';
import type { Snapshot } from '../../vergeos/types.js';
import { vmChangeSchema, type VmChange, type VmChangeInput } from '../../vmchange/schema.js';
import { driveSpecSchema } from '../../vmspec/schema.js';
import type { FieldError } from '../../vmspec/validate.js';
import type { FormGate } from './form-gate.js';
import { CHANGE_FORMS, EXPIRY_CHOICES, OPERATIONS, POWER_OFF_VALUE, RESTART_VALUE, type ChangeForm } from './vm-change-forms.js';

export type FormRead = { ok: true; change: VmChange } | { ok: false; errors: FieldError[] };

type Values = ViewOutput['state']['values'];

/** The input blocks of each form, first the one a refusal about the whole change goes under. */
const FORM_BLOCKS: Record<ChangeForm, readonly string[]> = {
  resize: ['cpu_cores', 'ram', 'restart'],
  disk_add: ['size', 'name', 'tier', 'media'],
  disk_grow: ['to', 'drive'],
  nic_add: ['vnet', 'name', 'ipaddress'],
  snapshot_create: ['name', 'expires'],
  snapshots: ['snapshot', 'operation', 'power_off'],
};

/** Who may use the change forms, for the gate: requesters, refused under the form's first input. */
export const CHANGE_FORM_GATES: readonly FormGate[] = (Object.keys(CHANGE_FORMS) as ChangeForm[]).map((form) => ({
  callbackId: CHANGE_FORMS[form],
  asks: 'requester',
  refusalBlock: () => FORM_BLOCKS[form][0]!,
}));

/** The schema's field names as the forms' blocks name them. */
const BLOCK_OF_FIELD: Record<string, string> = { disksize: 'size', preferred_tier: 'tier', media_source: 'media', media: 'media' };

/** Errors as Slack takes them (`response_action: 'errors'`): one sentence per block, several joined. */
export function errorsByBlock(form: ChangeForm, errors: readonly FieldError[]): Record<string, string> {
  const blocks = FORM_BLOCKS[form];
  const out: Record<string, string> = {};
  for (const e of errors) {
    const field =
      e.path
        .split(/[.[\]]/)
        .filter(Boolean)
        .at(-1) ?? '';
    const named = BLOCK_OF_FIELD[field] ?? field;
    const block = form === 'disk_grow' && named === 'size' ? 'to' : blocks.includes(named) ? named : blocks[0]!;
    out[block] = out[block] ? `${out[block]}; ${e.message}` : e.message;
  }
  return out;
}

/** A block's one element's state (its action id is `value`, or the option source of an external select). */
function field(values: Values, block: string) {
  return Object.values(values[block] ?? {})[0];
}
const text = (values: Values, block: string): string | undefined => field(values, block)?.value?.trim() || undefined;
const chosen = (values: Values, block: string): string | undefined => field(values, block)?.selected_option?.value ?? undefined;
const checked = (values: Values, block: string, value: string): boolean => (field(values, block)?.selected_options ?? []).some((o) => o.value === value);

/** A size as the request form takes it (`50GiB`, `1.5 TB`; a bare number is bytes). */
function bytes(input: string | undefined, path: string, what: string): { ok: true; value: number } | { ok: false; error: FieldError } {
  if (!input) return { ok: false, error: { path, message: `give the ${what}, e.g. 50GiB` } };
  const parsed = driveSpecSchema.shape.disksize.safeParse(input);
  if (!parsed.success || parsed.data === undefined) return { ok: false, error: { path, message: parsed.error?.issues[0]?.message ?? `${what} is not a size` } };
  return { ok: true, value: parsed.data };
}

function parsed(input: VmChangeInput): FormRead {
  const result = vmChangeSchema.safeParse(input);
  if (result.success) return { ok: true, change: result.data };
  return { ok: false, errors: result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) };
}

/** `now`: for a snapshot's absolute expiry. `snapshots`: the VM's, for the snapshots form (its choice is a key). */
export function readChangeForm(form: ChangeForm, values: Values, context: { now: number; snapshots?: readonly Snapshot[] }): FormRead {
  switch (form) {
    case 'resize': {
      const cores = text(values, 'cpu_cores');
      if (!cores || !/^\d+$/.test(cores)) return { ok: false, errors: [{ path: 'cpu_cores', message: 'CPU cores must be a whole number' }] };
      return parsed({ action: 'resize', cpu_cores: Number(cores), ram: text(values, 'ram') ?? '', restart: checked(values, 'restart', RESTART_VALUE) });
    }
    case 'disk_add': {
      const name = text(values, 'name') ?? '';
      const media = chosen(values, 'media');
      const tier = chosen(values, 'tier');
      if (media) return parsed({ action: 'disk_add', drive: { name, media: 'cdrom', interface: 'ahci', media_source: media } });
      const size = bytes(text(values, 'size'), 'size', 'disk size');
      if (!size.ok) return { ok: false, errors: [size.error] };
      return parsed({ action: 'disk_add', drive: { name, media: 'disk', disksize: size.value, ...(tier ? { preferred_tier: tier } : {}) } });
    }
    case 'disk_grow': {
      const to = bytes(text(values, 'to'), 'to', 'new size');
      if (!to.ok) return { ok: false, errors: [to.error] };
      return parsed({ action: 'disk_grow', drive: chosen(values, 'drive') ?? '', disksize: to.value });
    }
    case 'nic_add': {
      const vnet = chosen(values, 'vnet');
      if (!vnet) return { ok: false, errors: [{ path: 'vnet', message: 'choose a network' }] };
      const address = text(values, 'ipaddress');
      return parsed({ action: 'nic_add', nic: { vnet, name: text(values, 'name') ?? '', ...(address ? { ipaddress: address } : {}) } });
    }
    case 'snapshot_create': {
      const expiry = EXPIRY_CHOICES.find((c) => c.value === chosen(values, 'expires')) ?? EXPIRY_CHOICES[1];
      const expires = expiry.ms === undefined ? undefined : new Date(context.now + expiry.ms).toISOString();
      return parsed({ action: 'snapshot_create', name: text(values, 'name') ?? '', ...(expires ? { expires } : {}) });
    }
    case 'snapshots': {
      const key = chosen(values, 'snapshot');
      const snapshot = context.snapshots?.find((s) => s.key === key);
      if (!snapshot) return { ok: false, errors: [{ path: 'snapshot', message: 'that snapshot is gone; close this and open Snapshots… again' }] };
      const operation = chosen(values, 'operation');
      if (operation !== OPERATIONS.restore && operation !== OPERATIONS.delete)
        return { ok: false, errors: [{ path: 'operation', message: 'choose Restore or Delete' }] };
      if (operation === OPERATIONS.delete) return parsed({ action: 'snapshot_delete', snapshot: snapshot.name, snapshotKey: snapshot.key });
      // Consent to power it off: done by the core just before the restore, once the policy allowed it.
      const powerOff = checked(values, 'power_off', POWER_OFF_VALUE);
      return parsed({ action: 'snapshot_restore', snapshot: snapshot.name, snapshotKey: snapshot.key, power_off: powerOff });
    }
  }
}
