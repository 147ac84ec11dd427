/** What a request asks for and needs, read off its record: pure, for the core and every edge. */
import { planRun, type Plan } from '../plan/plan.js';
import type { VmSpec } from '../vmspec/schema.js';
import { expandNames } from '../vmspec/validate.js';
import type { AuditEvent } from '../store/audit.js';
import type { RequestRecord, RunRecord } from '../store/records.js';

/** Every VM a request asks for: one, or a batch's specs named from its pattern. */
export function requestSpecs(request: Pick<RequestRecord, 'spec' | 'batch'>): VmSpec[] {
  if (!request.batch) return [request.spec];
  const names = expandNames(request.batch.pattern, request.batch.count);
  // Checked when the request was filed; a stored pattern that no longer expands is a bug.
  if (!names.ok) throw new Error(`bug: request pattern ${request.batch.pattern} no longer expands: ${names.errors[0]?.message}`);
  return names.value.map((name) => ({ ...request.spec, vm: { ...request.spec.vm, name } }));
}

/**
 * The calls a request's (first) VM is made with, as the lead is shown them: a clone's copy call
 * and power on, else the spec's plan.
 */
export function requestPlan(request: Pick<RequestRecord, 'spec' | 'clone'>): Plan {
  return planRun({ spec: request.spec, clone: request.clone ? { vmKey: request.clone.vmKey, name: request.clone.name } : undefined });
}

/** "web-01" or "5 × web-{n}", for sentences about a request. */
export function requestSubject(request: Pick<RequestRecord, 'spec' | 'batch'>): string {
  return request.batch ? `${request.batch.count} × ${request.batch.pattern}` : request.spec.vm.name;
}

export interface NewRequest {
  requester: string;
  spec: VmSpec;
  batch?: { count: number; pattern: string } | undefined;
  recipe?: string | undefined;
  warnings: string[];
  sourceViewId?: string | undefined;
  /** How long the VMs are kept once ready (undefined: until deleted). */
  lease?: RequestRecord['lease'] | undefined;
  /** An extension of an existing VM's lease beyond its maximum, rather than a new VM. */
  extension?: RequestRecord['extension'] | undefined;
  /** A change to an existing VM (its spec is the VM as it would be after). */
  change?: RequestRecord['change'] | undefined;
  /** A copy of an existing VM (its spec is the copy: the source's configuration, renamed). */
  clone?: RequestRecord['clone'] | undefined;
  /** The policy's decision at submit time; `auto` files the request approved, by the rule. */
  policy?: NonNullable<RequestRecord['policy']> | undefined;
  /** Filed before VergeOS could supply the facts the policy needs: not approvable until decided. */
  waiting?: boolean | undefined;
}

/** How a request that waited for pre-flight was decided once the facts were in. */
export type WaitingDecision =
  | { kind: 'decided'; spec: VmSpec; policy: NonNullable<RequestRecord['policy']>; warnings: string[]; lease?: RequestRecord['lease'] | undefined }
  | { kind: 'refused'; reason: string };

/** "rule gpu-two-owners (policy 1a2b…)": how audit records name what a decision was made under. */
export function underRule(policy: RequestRecord['policy']): string {
  return policy ? `rule ${policy.rule} (policy ${policy.hash})` : 'the default (one approval from VM_APPROVERS)';
}

/** How many approvals a request needs (1 without a policy). */
export function approvalsNeeded(request: Pick<RequestRecord, 'policy'>): number {
  return request.policy?.count ?? 1;
}

/** Who decided a request, as data: a person's id, or the rule that approved it without a click. */
export function decider(request: Pick<RequestRecord, 'decidedBy'>): { user: string } | { rule: string } | undefined {
  if (!request.decidedBy) return undefined;
  return request.decidedBy.startsWith('policy:') ? { rule: request.decidedBy.slice('policy:'.length) } : { user: request.decidedBy };
}

/** Why a request can't be decided now, as a plain sentence (the Slack edge names people its own way). */
export function alreadyDecided(request: RequestRecord): string {
  if (request.state === 'expired') return `${request.id} expired before anyone decided; nothing was changed.`;
  if (request.state === 'cancelled') return `${request.id} was cancelled by its requester; nothing was changed.`;
  const who = decider(request);
  const by = who === undefined ? '' : 'rule' in who ? ` by rule ${who.rule}` : ` by ${who.user}`;
  return `${request.id} was already ${decidedVerb(request.state)}${by}; nothing was changed.`;
}

/** "approved" for every state an approved request moves through, else the state's own word. */
export function decidedVerb(state: RequestRecord['state']): string {
  return state === 'rejected' || state === 'cancelled' || state === 'expired' || state === 'waiting_preflight' || state === 'pending' ? state : 'approved';
}

/** The audit record of a request's provisioning outcome: one VM's keys, or a batch's counts (each VM has its own run records). */
export function finishedAudit(finished: RequestRecord, runs: readonly RunRecord[]): AuditEvent {
  const state = finished.state;
  const outcome = state === 'succeeded' ? 'ok' : 'failed';
  if (finished.kind === 'batch') {
    const count = (s: RunRecord['state']) => runs.filter((r) => r.state === s).length;
    const detail = `${count('succeeded')} of ${runs.length} VMs provisioned${count('failed') ? `, ${count('failed')} failed` : ''}${count('not_started') ? `, ${count('not_started')} not started` : ''}`;
    return { actor: 'vmbot', action: `request.${state}`, requestId: finished.id, runId: runs[0]!.id, vmName: requestSubject(finished), outcome, detail };
  }
  const run = runs[0]!;
  const keys = Object.fromEntries(Object.entries({ vm: run.keys.vmKey, machine: run.keys.machineKey }).filter(([, v]) => v)) as Record<string, string>;
  return {
    actor: 'vmbot',
    action: `request.${state}`,
    requestId: finished.id,
    runId: run.id,
    vmName: run.spec.vm.name,
    keys,
    outcome,
    ...(run.error ? { detail: run.error.message } : {}),
  };
}
