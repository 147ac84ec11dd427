/**
 * The approval policy file (`policy.yml`): named groups of people, quotas, and rules evaluated
 * top-down. One zod schema; sizes take units as recipes do.
 */
import { z } from 'zod';
import { CHANGE_ACTIONS } from '../vmchange/schema.js';
import { parseDuration, parseSizeToBytes } from '../vmspec/units.js';

/** A Slack user (U…/W…), a Slack user group (S…), a policy group (`@name`) or `VM_APPROVERS`. */
const memberRef = z.string().regex(/^([UW][A-Z0-9]+|S[A-Z0-9]+|@[a-z0-9][a-z0-9_-]*|VM_APPROVERS)$/, {
  error: 'must be a Slack user id (U…), a user group id (S…), a policy group (@name) or VM_APPROVERS',
});

const size = (what: string) =>
  z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
    const bytes = typeof v === 'number' ? v : parseSizeToBytes(v);
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: `${what} must be a size like 64GiB` });
      return z.NEVER;
    }
    return bytes;
  });

const range = <T extends z.ZodType<number>>(value: T) =>
  z
    .object({ min: value.optional(), max: value.optional() })
    .strict()
    .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { error: 'min must not be above max' });

const count = z.number().int().nonnegative();

/** Kinds of devices a rule can name; `tpm` is the virtual TPM, the rest come from resource groups. */
export const DEVICE_KINDS = ['gpu', 'vgpu', 'pci', 'usb', 'sriov_nic', 'tpm'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** What a request does: makes a VM (`create`), copies one (`clone`: a new VM too), or changes one the bot made. */
export const POLICY_ACTIONS = ['create', 'clone', ...CHANGE_ACTIONS] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** The actions that make a new VM: a rule without `when.action` judges these (a clone follows the creation rules). */
export const NEW_VM_ACTIONS = ['create', 'clone'] as const satisfies readonly PolicyAction[];

/**
 * What a rule looks at; every condition given must hold (an empty `when` matches every new VM).
 * Without `action` a rule is about making VMs (created or cloned); with it, about those actions
 * only (a change is judged on the VM as it would be after it, a clone on the copy).
 */
export const whenSchema = z
  .object({
    action: z
      .array(z.enum(POLICY_ACTIONS, { error: (i) => `action must be one of ${POLICY_ACTIONS.join(', ')} (got ${JSON.stringify(i.input)})` }))
      .min(1)
      .optional(),
    recipe: z.array(z.string()).min(1).optional(),
    cluster: z
      .array(z.union([z.string(), z.number()]).transform(String))
      .min(1)
      .optional(),
    /** Per VM. */
    vcpu: range(count).optional(),
    ram: range(size('ram')).optional(),
    /** New disk per VM, in all or on one tier (for a change: the disk it adds, or by how much it grows one). */
    new_disk: z
      .object({
        min: size('new_disk.min').optional(),
        max: size('new_disk.max').optional(),
        tier: z.union([z.string(), z.number()]).transform(String).optional(),
      })
      .strict()
      .optional(),
    /** `none` / `any` passthrough device (a virtual TPM is neither), or the kinds of which any one matches. */
    devices: z.union([z.enum(['none', 'any']), z.array(z.enum(DEVICE_KINDS)).min(1)]).optional(),
    /** How many VMs the request asks for. */
    count: range(count.min(1)).optional(),
    requester_in: z.array(memberRef).min(1).optional(),
  })
  .strict();
export type When = z.output<typeof whenSchema>;

const approveSchema = z.object({ count: z.number().int().min(1).max(10), from: z.array(memberRef).min(1) }).strict();

export const ruleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, { error: 'a rule name is lower-case letters, digits, - and _' }),
    when: whenSchema.default({}),
    /** The rule matches only when the request fits the requester's remaining quota. */
    within_quota: z.boolean().default(false),
    auto: z.literal(true).optional(),
    approve: approveSchema.optional(),
    /** VMs this rule decides must have a lease no longer than this ("until deleted" is refused). */
    lease_max: z
      .string()
      .transform((v, ctx) => {
        const ms = parseDuration(v);
        if (ms === undefined || ms <= 0) {
          ctx.addIssue({ code: 'custom', message: 'lease_max must be a duration like 30d' });
          return z.NEVER;
        }
        return ms;
      })
      .optional(),
    deny: z
      .string()
      .min(3, { error: 'say why, in a few words the requester will read' })
      .max(300, { error: 'keep the reason under 300 characters' })
      .optional(),
  })
  .strict()
  .refine((r) => [r.auto, r.approve, r.deny].filter((d) => d !== undefined).length === 1, {
    error: 'a rule decides exactly one of auto: true, approve: {count, from} or deny: reason',
  });
export type Rule = z.output<typeof ruleSchema>;

const quotaSchema = z.object({ vcpu: count.optional(), ram: size('ram').optional(), disk: size('disk').optional(), vms: count.optional() }).strict();
export type QuotaLimits = z.output<typeof quotaSchema>;

export const policySchema = z
  .object({
    version: z.literal(1),
    groups: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, { error: 'a group name is lower-case letters, digits, - and _' }), z.array(memberRef).min(1))
      .default({}),
    quotas: z
      .object({
        per_user: quotaSchema.optional(),
        /** Per group (Slack user group id or @name): all its members together. */
        groups: z.record(memberRef, quotaSchema).default({}),
      })
      .strict()
      .default({ groups: {} }),
    rules: z.array(ruleSchema).default([]),
    /** When no rule matches. Default: one approval from VM_APPROVERS. */
    default: z
      .object({ approve: approveSchema })
      .strict()
      .default({ approve: { count: 1, from: ['VM_APPROVERS'] } }),
  })
  .strict()
  .superRefine((p, ctx) => {
    const names = new Set(Object.keys(p.groups));
    const check = (refs: string[], path: Array<string | number>) => {
      refs.forEach((ref, i) => {
        if (ref.startsWith('@') && !names.has(ref.slice(1)))
          ctx.addIssue({ code: 'custom', path: [...path, i], message: `${ref} is not one of the groups defined under groups:` });
      });
    };
    p.rules.forEach((r, i) => {
      if (r.approve) check(r.approve.from, ['rules', i, 'approve', 'from']);
      if (r.when.requester_in) check(r.when.requester_in, ['rules', i, 'when', 'requester_in']);
    });
    check(Object.keys(p.quotas.groups), ['quotas', 'groups']);
    check(p.default.approve.from, ['default', 'approve', 'from']);
    const seen = new Set<string>();
    p.rules.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `the rule name ${r.name} is used twice` });
      seen.add(r.name);
    });
  });
export type Policy = z.output<typeof policySchema>;
