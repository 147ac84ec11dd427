/**
 * A VM the bot made, apart from the run that made it: who owns it now, its keys, its current
 * configuration and its lease. The run is the history of provisioning (the approved spec, each step); the VM
 * record is what day-2 changes, quotas, listings and leases read and write (its configuration now,
 * apart from the approved spec). Made when the run's
 * last step is done, before the run is marked succeeded, so a crash between is resumed with the run.
 */
import { z } from 'zod';
import { changeEntrySchema } from '../vmchange/schema.js';
import { vmSpecSchema } from '../vmspec/schema.js';

/**
 * `live`: it exists as far as the bot knows. `deleting`: a deletion is claimed or under way (the
 * run's decommission). `deleted`: the bot deleted it. `gone`: deleted outside the bot (noticed).
 */
export const VM_STATES = ['live', 'deleting', 'deleted', 'gone'] as const;
export type VmState = (typeof VM_STATES)[number];

/** The states in which a VM exists (or may, while being deleted) and so counts against quotas. */
export const HELD_VM_STATES = ['live', 'deleting'] as const satisfies readonly VmState[];
/** The states a VM ends in: nothing more happens to it. */
export const ENDED_VM_STATES = ['deleted', 'gone'] as const satisfies readonly VmState[];

/** How long a VM may be kept, as asked for (a request's lease, and a run's). */
export const leaseTermsSchema = z.object({ forMs: z.number().int().positive(), maxMs: z.number().int().positive().optional() });

/**
 * How long the VM is kept: `forMs` from when it was ready (or the last extension), `endsAt` then.
 * Reminders sent (as ms before the end), then `expiring` (claimed) and `expiredAt` (powered off) at
 * the end; deleted after the grace period unless extended meanwhile.
 */
export const leaseSchema = leaseTermsSchema.extend({
  endsAt: z.string().optional(),
  reminded: z.array(z.number().int().nonnegative()).default([]),
  expiring: z.string().optional(),
  expiredAt: z.string().optional(),
  /**
   * What the owner is still to be told, written in the same compare-and-set as the step it
   * reports and removed once delivered: a restart delivers what was not.
   */
  outbox: z
    .array(
      z.object({
        id: z.string(),
        event: z.enum(['reminder', 'expired', 'deleted']),
        endsAt: z.string().optional(),
        inMs: z.number().optional(),
        deleteAt: z.string().optional(),
      }),
    )
    .default([]),
});
export type Lease = z.output<typeof leaseSchema>;

export const vmRecordSchema = z.object({
  kind: z.literal('vm'),
  id: z.string().regex(/^vm-[a-z0-9-]+$/),
  version: z.number().int().nonnegative(),
  state: z.enum(VM_STATES),
  /** When its run was created: VMs are listed in the order they were asked for (`updatedAt` at first: when it was ready). */
  createdAt: z.string(),
  updatedAt: z.string(),
  name: z.string(),
  /** Who owns it now (a Slack user id, or `cli:<user>`): who asked for it, unless handed on. */
  owner: z.string(),
  /** The run that made it (its history: the approved spec and each step). */
  runId: z.string(),
  requestId: z.string().optional(),
  /** The batch it was made in. */
  group: z.string().optional(),
  keys: z.object({ vmKey: z.string(), machineKey: z.string().optional() }),
  /**
   * Its configuration now: the approved spec when it was made, changed by day-2 actions (a resize,
   * a disk added), so quotas and listings read what it holds now; the run keeps what was approved.
   */
  spec: vmSpecSchema,
  lease: leaseSchema.optional(),
  /** When its run's last step was done (absent on records made from an older store's runs). */
  readyAt: z.string().optional(),
  /**
   * What VergeOS last said of its NICs (each address once known), when, and how many times the bot
   * has asked since it was ready (the back-off of the polling after power-on).
   */
  network: z
    .object({
      nics: z.array(z.object({ name: z.string(), ipaddress: z.string().optional(), macaddress: z.string().optional() })),
      readAt: z.string(),
      polls: z.number().int().nonnegative(),
    })
    .optional(),
  /**
   * Its changes (day-2 actions that alter it), oldest first: each saved `in_flight` before its
   * VergeOS call, so a lost answer is looked up and a restart resumes it. One at a time per VM.
   */
  changes: z.array(changeEntrySchema).optional(),
  /** A resize of a running VM waits for its next power cycle (VergeOS's `need_restart`). */
  needRestart: z.boolean().optional(),
  /** Set when a deletion is claimed: by whom (`lease` at a lease's end), and when. */
  deleting: z.object({ by: z.string(), at: z.string() }).optional(),
  /** When the bot noticed it had been deleted outside the bot. */
  goneAt: z.string().optional(),
  /** When the bot deleted it. */
  deletedAt: z.string().optional(),
});
export type VmRecord = z.output<typeof vmRecordSchema>;
export type VmNetwork = NonNullable<VmRecord['network']>;

/** The id of the VM a run made: one run, one VM, so a second insert of it is a conflict, never a twin. */
export function vmIdOf(runId: string): string {
  return `vm-${runId.replace(/^run-/, '')}`;
}

/** Whether the VM exists (or may, while being deleted) and so counts against quotas. */
export function holdsSize(vm: Pick<VmRecord, 'state'>): boolean {
  return (HELD_VM_STATES as readonly VmState[]).includes(vm.state);
}
