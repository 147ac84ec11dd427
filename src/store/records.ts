/** Shapes of what the store keeps, validated whenever a file the bot did not just write itself is read. */
import { z } from 'zod';
import { vmChangeSchema } from '../vmchange/schema.js';
import { vmSpecSchema } from '../vmspec/schema.js';
import { RUN_STATES } from './run-states.js';
import { REQUEST_STATES } from './request-states.js';
import { leaseSchema, leaseTermsSchema, vmRecordSchema } from './vm-record.js';

// The state lists live with their transitions and named sets; kept importable from here.
export { RUN_STATES, type RunState } from './run-states.js';
export { REQUEST_STATES, LIVE_REQUEST_STATES, type RequestState } from './request-states.js';
export { VM_STATES, vmRecordSchema, vmIdOf, type VmRecord, type VmState, type Lease } from './vm-record.js';

export const STEP_STATUSES = ['pending', 'in_flight', 'done', 'failed'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export const stepProgressSchema = z.object({
  status: z.enum(STEP_STATUSES),
  key: z.string().optional(),
  uuid: z.string().optional(),
  attempts: z.number().int().nonnegative(),
  at: z.string().optional(),
  /** Found by lookup after an unknown outcome rather than from a POST's answer. */
  reconciled: z.boolean().optional(),
});
export type StepProgress = z.infer<typeof stepProgressSchema>;

export const runErrorSchema = z.object({
  code: z.string(),
  /** The operator's sentence (never contains secrets). */
  message: z.string(),
  stepId: z.string().optional(),
  vergeosMessage: z.string().optional(),
});
export type RunError = z.infer<typeof runErrorSchema>;

export const runRecordSchema = z.object({
  id: z.string().regex(/^run-[a-z0-9-]+$/),
  version: z.number().int().nonnegative(),
  state: z.enum(RUN_STATES),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Who asked for it (a Slack user id, or `cli:<user>`). */
  actor: z.string(),
  /** Who owned its VM, when handed on before VMs had records of their own (the VM record's `owner` now). */
  owner: z.string().optional(),
  /** Set while a provisioned VM is being deleted on purpose (decommission): it ends `decommissioned`. */
  decommission: z.object({ by: z.string(), at: z.string() }).optional(),
  requestId: z.string().optional(),
  /** The batch id (`batch-…`; `bulk-…` before batches had a name) of runs created together. */
  group: z.string().optional(),
  /** The approved spec; the plan is derived from it (planning is pure and deterministic). */
  spec: vmSpecSchema,
  /**
   * A clone: the VM it copies (its VM key, and its name when asked). The plan is then the clone
   * call (and power on), and `spec` what the copy is: the source's configuration, renamed.
   */
  clone: z.object({ vmKey: z.string(), name: z.string() }).optional(),
  /** Progress per plan step id (`create_vm`, `drive:0`, …). */
  steps: z.record(z.string(), stepProgressSchema),
  keys: z.object({ vmKey: z.string().optional(), machineKey: z.string().optional() }),
  poweredOn: z.boolean(),
  error: runErrorSchema.optional(),
  /**
   * Before VMs had records of their own, what the VM record now keeps: when its VM was noticed
   * deleted outside the bot, and its live lease. Read only to make VM records of older stores.
   */
  goneAt: z.string().optional(),
  /** How long its VM is to be kept once ready (the request's terms); older runs carry the whole live lease. */
  lease: leaseSchema.optional(),
});
export type RunRecord = z.output<typeof runRecordSchema>;

/** Who owns a run's VM now: whoever it was handed to (`vmbot transfer`), else who asked for it. */
export function ownerOf(run: Pick<RunRecord, 'owner' | 'actor'>): string {
  return run.owner ?? run.actor;
}

const messageRefSchema = z.object({ channel: z.string(), ts: z.string() });

/** What every request records, whatever it asks for. */
const requestFields = {
  id: z.string().regex(/^REQ-\d+$/),
  version: z.number().int().nonnegative(),
  state: z.enum(REQUEST_STATES),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** When a pending request expires (ISO time), kept so expiry survives restarts. */
  expiresAt: z.string(),
  requester: z.string(),
  recipe: z.string().optional(),
  /** The first VM's spec; a batch's other VMs differ only in name (from `batch.pattern`). */
  spec: vmSpecSchema,
  /** How long its VMs are kept once ready (from the recipe), and the most an extension may give. */
  lease: leaseTermsSchema.optional(),
  /** The batch id of a batch request's runs, once they exist. */
  batchId: z.string().optional(),
  /** How the approval policy decided it at submit time: the rule, the policy file's hash, what it needs. */
  policy: z
    .object({
      rule: z.string(),
      hash: z.string(),
      decision: z.enum(['auto', 'approve']),
      count: z.number().int().min(1).optional(),
      from: z.array(z.string()).optional(),
      /** Who may approve, as shown to people ("2 of @gpu-owners"). */
      approvers: z.string().optional(),
      /** The requester's quota use as it stood at submit time, for the lead. */
      quota: z.array(z.string()).default([]),
    })
    .optional(),
  /** Approvals counted so far (distinct people from the rule's set, never the requester). */
  approvals: z.array(z.object({ user: z.string(), at: z.string() })).default([]),
  /** Soft pre-flight findings shown to the lead (hard ones never get this far). */
  warnings: z.array(z.string()).default([]),
  /** The modal submission it came from: a retried delivery must not make a second request. */
  sourceViewId: z.string().optional(),
  approvalMessage: messageRefSchema.optional(),
  permalink: z.string().optional(),
  decidedBy: z.string().optional(),
  decidedAt: z.string().optional(),
  reason: z.string().optional(),
  runId: z.string().optional(),
  /** The run's progress message in the thread, updated as steps finish. */
  progressMessage: messageRefSchema.optional(),
};

/** What a request asks for: one new VM, a batch of them, keeping an existing VM longer, changing one, or a copy of one. */
export const REQUEST_KINDS = ['vm', 'batch', 'extension', 'change', 'clone'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/** Several VMs from one spec: names from the pattern, `{n}` = 1 … count. */
const batchSchema = z.object({ count: z.number().int().min(2), pattern: z.string() });
/** Not a new VM: keeping an existing one (run `runId`) until `until`, beyond its lease's maximum. */
const extensionSchema = z.object({ runId: z.string(), until: z.string() });
/**
 * Not a new VM: a change to an existing one (the VM record of run `runId`); the request's `spec`
 * is the VM as it would be after. `shown`: before → after in words, `calls`: the exact VergeOS
 * calls, both as the lead was shown them.
 */
const changeRequestSchema = z.object({ runId: z.string(), change: vmChangeSchema, shown: z.string(), calls: z.array(z.string()) });
/**
 * A new VM that is a copy of an existing one (the VM record of run `runId`: its VM key and name
 * when asked); the request's `spec` is the copy: the source's configuration then, renamed.
 */
const cloneRequestSchema = z.object({ runId: z.string(), vmKey: z.string(), name: z.string() });

/**
 * A request written before requests said what they are carries its kind in which field it has;
 * given its `kind` here, once, wherever a stored request is read (validated or trusted).
 */
export function withRequestKind<T>(raw: T): T {
  if (typeof raw !== 'object' || raw === null || 'kind' in raw) return raw;
  const fields = raw as { batch?: unknown; extension?: unknown };
  return { ...raw, kind: fields.extension ? 'extension' : fields.batch ? 'batch' : 'vm' };
}

/** Each kind's own field, absent from the other kinds (each kind overrides its own). */
const noKindFields = {
  batch: z.undefined().optional(),
  extension: z.undefined().optional(),
  change: z.undefined().optional(),
  clone: z.undefined().optional(),
};

/** A VM request made in Slack: who asked for what, where it is shown, and how it was decided. */
export const requestRecordSchema = z.preprocess(
  withRequestKind,
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('vm'), ...requestFields, ...noKindFields }),
    z.object({ kind: z.literal('batch'), ...requestFields, ...noKindFields, batch: batchSchema }),
    z.object({ kind: z.literal('extension'), ...requestFields, ...noKindFields, extension: extensionSchema }),
    z.object({ kind: z.literal('change'), ...requestFields, ...noKindFields, change: changeRequestSchema }),
    z.object({ kind: z.literal('clone'), ...requestFields, ...noKindFields, clone: cloneRequestSchema }),
  ]),
);
export type RequestRecord = z.output<typeof requestRecordSchema>;

export const storeFileSchema = z.object({
  version: z.literal(1),
  /** The first journal generation not in this file (older ones are in it; newer are replayed onto it). */
  journal: z.number().int().nonnegative().default(0),
  runs: z.array(runRecordSchema),
  requests: z.array(requestRecordSchema).default([]),
  vms: z.array(vmRecordSchema).default([]),
  counters: z.record(z.string(), z.number().int().nonnegative()).default({}),
});
export type StoreFile = z.output<typeof storeFileSchema>;
