/**
 * The request lifecycle, independent of Slack:
 *   pending → approved → provisioning → succeeded
 *   pending → rejected | cancelled | expired;  provisioning → failed → provisioning (retry) | cleaned_up
 * Every transition is a compare-and-set on the stored request, saved before the work it guards,
 * and appends an audit record. Two clicks, two leads or a retried delivery get one transition.
 */
import { requestDecisionSeconds } from '../ops/metrics.js';
import { summarizeSpec } from '../plan/render.js';
import { addApproval } from '../policy/approvals.js';
import type { AuditEvent, AuditLog } from '../store/audit.js';
import type { RequestRecord, RequestState, RunRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { hasCode, isConflict } from '../errors.js';

export { RequestError, type RequestErrorCode } from './errors.js';
import { alreadyDecided, approvalsNeeded, finishedAudit, requestSubject, underRule, type NewRequest, type WaitingDecision } from './request-facts.js';
import { RequestError } from './errors.js';
import { isUndecided, UNDECIDED_REQUEST_STATES } from '../store/request-states.js';
export {
  alreadyDecided,
  approvalsNeeded,
  decider,
  requestPlan,
  requestSpecs,
  requestSubject,
  underRule,
  type NewRequest,
  type WaitingDecision,
} from './request-facts.js';

export class Requests {
  readonly #store: Store;
  readonly #audit: AuditLog;
  readonly #ttlMs: number;

  /** Who is told when a request changed (created, decided, provisioned …): whoever shows it. */
  readonly #watchers = new Set<(request: RequestRecord) => void>();
  /** Submissions being filed now, by modal view id (a retried delivery joins the first). */
  readonly #filing = new Map<string, Promise<{ request: RequestRecord; created: boolean }>>();

  constructor(options: { store: Store; audit: AuditLog; ttlMs: number }) {
    this.#store = options.store;
    this.#audit = options.audit;
    this.#ttlMs = options.ttlMs;
  }

  /** Be told each request's new state when it changes (created, decided, provisioned …). */
  onChange(watcher: (request: RequestRecord) => void): void {
    this.#watchers.add(watcher);
  }

  #changed(request: RequestRecord): void {
    for (const watcher of this.#watchers) watcher(request);
  }

  get(id: string): RequestRecord {
    const request = this.#store.getRequest(id);
    if (!request) throw new RequestError('REQUEST_NOT_FOUND', `There is no request ${id}.`);
    return request;
  }

  find(id: string): RequestRecord | undefined {
    return this.#store.getRequest(id);
  }

  /** The request as it is now, also when another bot process filed or changed it a moment ago. */
  async load(id: string): Promise<RequestRecord | undefined> {
    await this.#store.catchUp('requests', id);
    return this.#store.getRequest(id);
  }

  /** A requester's requests, newest first (with `newest`, only that many). */
  byRequester(user: string, newest?: number): RequestRecord[] {
    return this.#store.requestsBy('requester', user, undefined, newest).sort(newestFirst);
  }

  /** How many requests `user` has made (in the working set). */
  countOf(user: string): number {
    return this.#store.countRequests('requester', user);
  }

  /** What limits a requester: their pending requests, those filed since `since`, and one from this form (a retried delivery). */
  limiting(user: string, since: number, viewId: string): RequestRecord[] {
    return this.#store.requestsBy('requester', user, (r) => isUndecided(r.state) || Date.parse(r.createdAt) > since || r.sourceViewId === viewId);
  }

  pending(): RequestRecord[] {
    return this.#store.requestsBy('state', 'pending').sort(newestFirst);
  }

  inState(state: RequestState): RequestRecord[] {
    return this.#store.requestsBy('state', state);
  }

  /** A new pending request. The same modal submission delivered twice yields the same request. */
  async create(input: NewRequest): Promise<{ request: RequestRecord; created: boolean }> {
    if (!input.sourceViewId) return this.#create(input);
    const existing = this.#store.requestsBy('sourceViewId', input.sourceViewId)[0];
    if (existing) return { request: existing, created: false };
    // A second delivery while the first is being filed waits for it (numbering is async).
    const filing = this.#filing.get(input.sourceViewId);
    if (filing) return { request: (await filing).request, created: false };
    const work = this.#create(input);
    this.#filing.set(input.sourceViewId, work);
    try {
      return await work;
    } finally {
      this.#filing.delete(input.sourceViewId);
    }
  }

  async #create(input: NewRequest): Promise<{ request: RequestRecord; created: boolean }> {
    const now = new Date();
    const auto = input.policy?.decision === 'auto' && !input.waiting;
    // What it asks for, said by the record itself.
    const asks = input.extension
      ? { kind: 'extension' as const, extension: input.extension }
      : input.change
        ? { kind: 'change' as const, change: input.change }
        : input.clone
          ? { kind: 'clone' as const, clone: input.clone }
          : input.batch
            ? { kind: 'batch' as const, batch: input.batch }
            : { kind: 'vm' as const };
    const request: RequestRecord = {
      ...asks,
      id: `REQ-${await this.#store.nextNumber('request')}`,
      version: 0,
      state: input.waiting ? 'waiting_preflight' : auto ? 'approved' : 'pending',
      ...(auto ? { decidedBy: `policy:${input.policy!.rule}`, decidedAt: now.toISOString() } : {}),
      approvals: [],
      ...(input.policy ? { policy: input.policy } : {}),
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.#ttlMs).toISOString(),
      requester: input.requester,
      ...(input.recipe ? { recipe: input.recipe } : {}),
      spec: input.spec,
      ...(input.lease ? { lease: input.lease } : {}),
      warnings: input.warnings,
      ...(input.sourceViewId ? { sourceViewId: input.sourceViewId } : {}),
    };
    await this.#store.insertRequest(request);
    await this.#record(
      request,
      input.requester,
      'request.created',
      'ok',
      `${filedWhat(input)}; ${
        input.waiting
          ? 'waiting for pre-flight: VergeOS could not be asked in time, so the policy decides once it answers'
          : `${auto ? 'approved by' : 'decided under'} ${underRule(input.policy)}`
      }`,
    );
    if (auto) await this.#record(request, 'policy', 'request.approved', 'ok', `approved without a click by ${underRule(input.policy)}`);
    return { request, created: true };
  }

  /**
   * waiting_preflight → pending or approved (decided by the policy on the facts now in), or
   * rejected (pre-flight found a problem, or the policy denies it). Exactly once.
   */
  async decideWaiting(id: string, decision: WaitingDecision): Promise<RequestRecord> {
    const now = new Date().toISOString();
    const auto = decision.kind === 'decided' && decision.policy.decision === 'auto';
    const done = await this.#transition(id, ['waiting_preflight'], 'vmbot', (r) => {
      if (decision.kind === 'refused') {
        r.state = 'rejected';
        r.decidedBy = 'vmbot';
        r.decidedAt = now;
        r.reason = decision.reason;
        return;
      }
      r.spec = decision.spec;
      r.policy = decision.policy;
      r.warnings = decision.warnings;
      if (decision.lease) r.lease = decision.lease;
      else delete r.lease;
      r.state = auto ? 'approved' : 'pending';
      if (auto) {
        r.decidedBy = `policy:${decision.policy.rule}`;
        r.decidedAt = now;
      }
    });
    if (decision.kind === 'refused') {
      observeDecision(done, 'rejected');
      await this.#record(done, 'vmbot', 'request.rejected', 'ok', `after pre-flight: ${decision.reason}`);
      return done;
    }
    await this.#record(done, 'vmbot', 'request.preflight_done', 'ok', `pre-flight done; decided under ${underRule(done.policy)}`);
    if (auto) await this.#record(done, 'policy', 'request.approved', 'ok', `approved without a click by ${underRule(done.policy)}`);
    return done;
  }

  /** A submission the policy refused: never filed, but on the audit trail with the rule. */
  async recordDenied(requester: string, subject: string, detail: string): Promise<void> {
    await this.#audit.append({ actor: requester, action: 'request.denied_by_policy', vmName: subject, outcome: 'refused', detail });
  }

  /** Someone who may not request VMs tried (a guest, an external user, someone not listed). */
  async recordRefused(user: string, entry: string, reason: string, message: string): Promise<void> {
    await this.#audit.append({ actor: user, action: 'request.refused_requester', outcome: 'refused', detail: `${reason} at ${entry}: ${message}` });
  }

  async attachApprovalMessage(id: string, ref: { channel: string; ts: string }, permalink: string | undefined): Promise<RequestRecord> {
    return this.#store.updateRequest(id, {}, (r) => {
      r.approvalMessage = ref;
      if (permalink) r.permalink = permalink;
    });
  }

  async attachProgressMessage(id: string, ref: { channel: string; ts: string }): Promise<RequestRecord> {
    return this.#store.updateRequest(id, {}, (r) => {
      r.progressMessage = ref;
    });
  }

  /**
   * One approval by `lead` (checked by the caller against the rule's set: `eligible`). Each is its
   * own compare-and-set on the pending request; the approval that completes the count (N distinct
   * people, never the requester) moves it to approved, exactly once.
   */
  async approve(id: string, lead: string, eligible = true): Promise<{ request: RequestRecord; complete: boolean }> {
    const request = this.get(id);
    if (request.requester === lead && request.state === 'pending') {
      await this.#record(request, lead, 'request.approve_refused', 'refused', 'the requester may not approve their own request');
      throw new RequestError('REQUEST_SELF_APPROVAL', `You asked for ${id}, so someone else has to approve it.`, request);
    }
    await this.#expireIfDue(request);
    let complete = false;
    let refusal: RequestError | undefined;
    const approved = await this.#transition(id, ['pending'], lead, (r) => {
      const outcome = addApproval(r.approvals, { user: lead, requester: r.requester, eligible, needed: approvalsNeeded(r), at: new Date().toISOString() });
      if (outcome.kind === 'refused') {
        refusal =
          outcome.reason === 'already_counted'
            ? new RequestError(
                'REQUEST_ALREADY_APPROVED_BY_YOU',
                `You already approved ${id}; it needs ${approvalsNeeded(r) - r.approvals.length} more from other people. Nothing was changed.`,
                r,
              )
            : new RequestError(
                'REQUEST_NOT_ELIGIBLE',
                `${id} needs approval from someone else under ${r.policy ? `rule ${r.policy.rule}` : 'the policy'}; nothing was changed.`,
                r,
              );
        throw refusal; // nothing is saved
      }
      r.approvals = outcome.approvals;
      complete = outcome.complete;
      if (complete) {
        r.state = 'approved';
        r.decidedBy = lead;
        r.decidedAt = new Date().toISOString();
      }
    }).catch(async (err: unknown) => {
      if (err === refusal && refusal) await this.#record(refusal.request!, lead, 'request.approve_refused', 'refused', refusal.message);
      throw err;
    });
    if (complete) observeDecision(approved, 'approved');
    const count = `${approved.approvals.length} of ${approvalsNeeded(approved)}`;
    await this.#record(approved, lead, complete ? 'request.approved' : 'request.approval_counted', 'ok', `${count} under ${underRule(approved.policy)}`);
    return { request: approved, complete };
  }

  async reject(id: string, lead: string, reason: string): Promise<RequestRecord> {
    await this.#expireIfDue(this.get(id));
    const rejected = await this.#transition(id, ['pending'], lead, (r) => {
      r.state = 'rejected';
      r.decidedBy = lead;
      r.decidedAt = new Date().toISOString();
      r.reason = reason;
    });
    observeDecision(rejected, 'rejected');
    await this.#record(rejected, lead, 'request.rejected', 'ok', `${reason} (under ${underRule(rejected.policy)})`);
    return rejected;
  }

  async cancel(id: string, user: string): Promise<RequestRecord> {
    const request = this.get(id);
    if (request.requester !== user) throw new RequestError('REQUEST_NOT_REQUESTER', `Only ${request.requester}, who asked for ${id}, can cancel it.`, request);
    const cancelled = await this.#transition(id, [...UNDECIDED_REQUEST_STATES], user, (r) => {
      r.state = 'cancelled';
      r.decidedBy = user;
      r.decidedAt = new Date().toISOString();
    });
    observeDecision(cancelled, 'cancelled');
    await this.#record(cancelled, user, 'request.cancelled', 'ok');
    return cancelled;
  }

  /** Pending (or still waiting for pre-flight) requests past their time, each moved to expired exactly once. */
  async expireDue(now = new Date()): Promise<RequestRecord[]> {
    const expired: RequestRecord[] = [];
    for (const request of [...this.pending(), ...this.inState('waiting_preflight')]) {
      if (new Date(request.expiresAt) > now) continue;
      try {
        const done = await this.#store.updateRequest(request.id, { version: request.version, states: UNDECIDED_REQUEST_STATES }, (r) => {
          r.state = 'expired';
          r.decidedAt = now.toISOString();
        });
        observeDecision(done, 'expired');
        await this.#record(done, 'vmbot', 'request.expired', 'info', 'no decision within the time limit');
        expired.push(done);
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    return expired;
  }

  /** approved → provisioning (or failed → provisioning for a retry), tied to its run (a batch: its first run and the batch id). */
  async startProvisioning(id: string, runId: string, actor: string, from: 'approved' | 'failed', batchId?: string): Promise<RequestRecord> {
    const started = await this.#transition(id, [from], actor, (r) => {
      r.state = 'provisioning';
      r.runId = runId;
      if (batchId) r.batchId = batchId;
    });
    await this.#record(started, actor, from === 'failed' ? 'request.retried' : 'request.provisioning', 'info', `run ${runId}`);
    return started;
  }

  /** provisioning → succeeded (every VM) or failed (any VM failed or was not started). */
  async finishProvisioning(id: string, runs: RunRecord[]): Promise<RequestRecord> {
    const state = runs.every((r) => r.state === 'succeeded') ? 'succeeded' : 'failed';
    const finished = await this.#store.updateRequest(id, { states: ['provisioning'] }, (r) => {
      r.state = state;
    });
    this.#changed(finished);
    await this.#audit.append(finishedAudit(finished, runs));
    return finished;
  }

  /** An approved extension, applied (succeeded) or not applicable any more (cancelled, with why). */
  async finishExtension(id: string, applied: boolean, detail: string): Promise<RequestRecord> {
    const done = await this.#transition(id, ['approved'], 'vmbot', (r) => {
      r.state = applied ? 'succeeded' : 'cancelled';
      if (!applied) r.reason = detail;
    });
    await this.#record(done, 'vmbot', applied ? 'request.extension_applied' : 'request.extension_dropped', applied ? 'ok' : 'info', detail);
    return done;
  }

  /** An approved change to a VM, applied (succeeded) or not (failed, with why): the request closed. */
  async finishChange(id: string, applied: boolean, detail: string): Promise<RequestRecord> {
    const done = await this.#transition(id, ['approved'], 'vmbot', (r) => {
      r.state = applied ? 'succeeded' : 'failed';
      if (!applied) r.reason = detail;
    });
    await this.#record(done, 'vmbot', applied ? 'request.change_applied' : 'request.change_failed', applied ? 'ok' : 'failed', detail);
    return done;
  }

  /** failed → cleaned_up, once the run's cleanup has deleted the partial VM. */
  async markCleanedUp(id: string, lead: string): Promise<RequestRecord> {
    const cleaned = await this.#transition(id, ['failed'], lead, (r) => {
      r.state = 'cleaned_up';
    });
    await this.#record(cleaned, lead, 'request.cleaned_up', 'ok');
    return cleaned;
  }

  async #expireIfDue(request: RequestRecord): Promise<void> {
    if (request.state === 'pending' && new Date(request.expiresAt) <= new Date()) await this.expireDue();
  }

  async #transition(id: string, from: RequestState[], actor: string, mutate: (r: RequestRecord) => void): Promise<RequestRecord> {
    try {
      return await this.#store.updateRequest(id, { states: from }, mutate);
    } catch (err) {
      if (isConflict(err)) {
        const current = this.get(id);
        await this.#record(current, actor, 'request.transition_refused', 'refused', `it is ${current.state}`);
        throw new RequestError(
          from.includes('pending') ? 'REQUEST_ALREADY_DECIDED' : 'REQUEST_WRONG_STATE',
          from.includes('pending') ? alreadyDecided(current) : `${id} is ${current.state.replace('_', ' ')}; nothing was changed.`,
          current,
        );
      }
      if (hasCode(err, 'STORE_NOT_FOUND')) throw new RequestError('REQUEST_NOT_FOUND', `There is no request ${id}.`);
      throw err;
    }
  }

  async #record(request: RequestRecord, actor: string, action: string, outcome: AuditEvent['outcome'], detail?: string): Promise<void> {
    if (outcome !== 'refused') this.#changed(request);
    await this.#audit.append({
      actor,
      action,
      requestId: request.id,
      vmName: requestSubject(request),
      ...(request.runId ? { runId: request.runId } : {}),
      outcome,
      ...(detail ? { detail } : {}),
    });
  }
}

/** What a new request asks for, in the words of its audit record. */
function filedWhat(input: NewRequest): string {
  if (input.change) return `${input.spec.vm.name}: ${input.change.shown}`;
  if (input.clone) return `a copy of ${input.clone.name} (VM key ${input.clone.vmKey}) named ${input.spec.vm.name}, ${summarizeSpec(input.spec)}`;
  return `${input.batch ? `${input.batch.count} VMs (${input.batch.pattern}), each ` : ''}${summarizeSpec(input.spec)}`;
}

function newestFirst(a: RequestRecord, b: RequestRecord): number {
  return Number(b.id.slice(4)) - Number(a.id.slice(4));
}

/** Time from filing to decision, for the decision-time metric. */
function observeDecision(request: RequestRecord, decision: 'approved' | 'rejected' | 'cancelled' | 'expired'): void {
  if (request.decidedAt) requestDecisionSeconds.observe({ decision }, Math.max(0, Date.parse(request.decidedAt) - Date.parse(request.createdAt)) / 1000);
}
