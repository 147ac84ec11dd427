/**
 * A change to a VM the bot made (a day-2 action that alters it), one schema: what is asked, in
 * the API's units. The VM record keeps a ledger of them (`changes`), each entry saved `in_flight`
 * before its VergeOS call, so a lost answer is looked up and a restart resumes it, never re-sent.
 */
import { z } from 'zod';
import { driveSpecSchema, nicSpecSchema, vmNameSchema, vmSizeSchema } from '../vmspec/schema.js';

export const CHANGE_ACTIONS = ['resize', 'disk_add', 'disk_grow', 'nic_add', 'snapshot_create', 'snapshot_restore', 'snapshot_delete'] as const;
export type ChangeAction = (typeof CHANGE_ACTIONS)[number];

/** A name VergeOS can be asked for again (drives, NICs, snapshots): found by it after an unknown outcome. */
const objectName = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, {
    error: 'a name may only contain letters, digits, spaces, dots, dashes and underscores, starting with a letter or digit',
  });

export const vmChangeSchema = z.discriminatedUnion('action', [
  /** New cores and RAM (`PUT /vms/{vmKey}`); `restart`: the owner agreed to a graceful power cycle if it runs. */
  z.object({ action: z.literal('resize'), ...vmSizeSchema.shape, restart: z.boolean().default(false) }),
  /** A new disk (or a CD-ROM from media) on the VM's machine, always named. */
  z.object({ action: z.literal('disk_add'), drive: driveSpecSchema.extend({ name: objectName }) }),
  /** A drive (by name) grown to `disksize` bytes: grow only. */
  z.object({ action: z.literal('disk_grow'), drive: objectName, disksize: z.number().int().positive() }),
  /** A new NIC, always named. */
  z.object({ action: z.literal('nic_add'), nic: nicSpecSchema.extend({ name: objectName }) }),
  /** A snapshot (`machine_snapshots`), expiring at an absolute time (ISO), or never (`expires` absent). */
  z.object({ action: z.literal('snapshot_create'), name: objectName, expires: z.string().optional(), quiesce: z.boolean().default(false) }),
  /**
   * Revert in place to a snapshot (by name and its `machine_snapshots` key): needs the VM off, or
   * the owner's consent to power it off first (`power_off`). `restores_to`: the snapshot's size,
   * read at pre-flight, what quotas and the policy judge.
   */
  z.object({
    action: z.literal('snapshot_restore'),
    snapshot: objectName,
    snapshotKey: z.string(),
    power_off: z.boolean().default(false),
    restores_to: vmSizeSchema.optional(),
  }),
  z.object({ action: z.literal('snapshot_delete'), snapshot: objectName, snapshotKey: z.string() }),
]);
export type VmChange = z.output<typeof vmChangeSchema>;
export type VmChangeInput = z.input<typeof vmChangeSchema>;
export type ChangeOf<A extends ChangeAction> = Extract<VmChange, { action: A }>;

export const CHANGE_STATUSES = ['in_flight', 'done', 'failed'] as const;

/**
 * One change in a VM's ledger: `in_flight` written (and fsynced) before the VergeOS call it guards,
 * `done` with what VergeOS made (`key`), or `failed` with the operator's sentence. `unknown`: the
 * call may have happened and nothing can tell (a restore): never sent again by itself.
 */
export const changeEntrySchema = z.object({
  /** `chg-…`: the request that approved it, or the action's own id (one per click or command). */
  id: z.string().min(1),
  change: vmChangeSchema,
  actor: z.string(),
  requestId: z.string().optional(),
  /** What allowed it: a policy rule, or a request a lead approved (absent: the operator's CLI). */
  approval: z.string().optional(),
  status: z.enum(CHANGE_STATUSES),
  attempts: z.number().int().nonnegative(),
  at: z.string(),
  /** What VergeOS made or changed (a drive's, NIC's or snapshot's key). 0 attempts: reserved, never sent. */
  key: z.string().optional(),
  /** Found by lookup after an unknown outcome rather than from the call's answer. */
  reconciled: z.boolean().optional(),
  /** What else the owner should know once it is done (a power cycle that failed after the resize took). */
  note: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type ChangeEntry = z.output<typeof changeEntrySchema>;

/** A clone's name is a VM name (the new VM's). */
export const cloneNameSchema = vmNameSchema;
