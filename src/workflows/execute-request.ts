/**
 * Executing an approved request, independent of Slack: create its runs once, move it to
 * provisioning (compare-and-set), run them (one VM, or a batch at its concurrency), record the
 * outcome on the request; retry what failed, delete what a failure left, resume what a stopped
 * process left, apply an approved lease extension. Whoever shows requests (the Slack thread, a
 * test) watches through an `ExecutionObserver`; nothing here waits for it before VergeOS work.
 */
import { cleanupRuns, createBatch, leftPartialVm, runBatch } from '../batches/batch.js';
import type { Leases } from '../leases/leases.js';
import type { Logger } from '../log.js';
import type { Provisioner, RunEvent } from '../provision/provisioner.js';
import { RequestError, requestSpecs, type Requests } from '../requests/requests.js';
import type { RequestRecord, RunRecord } from '../store/records.js';
import { isRetryable } from '../store/run-states.js';
import type { VmChanges } from './vm-changes.js';

/** Why a request's runs start (again): shown to the people following it. */
export type StartReason =
  | { kind: 'approved' }
  | { kind: 'retry'; lead: string; runs: number }
  /** Runs a stopped process (`restart`: this one, before it started; `takeover`: another) or a full disk (`writable`) left. */
  | { kind: 'resumed'; why: 'restart' | 'takeover' | 'writable'; resuming: number; finished: number; afterStep: number };

/** What a request's partial VMs' deletion removed. */
export interface CleanupOutcome {
  request: RequestRecord;
  /** How many runs had left a partial VM. */
  partial: number;
  /** The VMs deleted (those that had a key). */
  deleted: Array<{ name: string; vmKey: string }>;
}

/** Follows one request's runs while they execute (all calls synchronous: a run never waits for it). */
export interface ExecutionWatch {
  /** Called a turn after the runs started (their first VergeOS request is on the wire): show them. */
  show(): void;
  onEvent(event: RunEvent): void;
  /** A batch VM finished. */
  vmFinished(): void;
  /** The runs paused on a store that takes no writes; they resume later, elsewhere perhaps. */
  halt(): void;
  finish(): void;
}

/** Who shows requests' progress and outcomes (the Slack thread; nothing in the CLI). */
export interface ExecutionObserver {
  started(request: RequestRecord, reason: StartReason): ExecutionWatch | undefined;
  finished(request: RequestRecord, runs: RunRecord[]): Promise<void>;
  extended(request: RequestRecord, lead: string, outcome: { ok: true } | { ok: false; reason: string }): Promise<void>;
  cleanupFailed(request: RequestRecord, stillFailed: RunRecord[]): Promise<void>;
  cleanedUp(outcome: CleanupOutcome): Promise<void>;
}

export interface ExecutionDeps {
  provisioner: Provisioner;
  requests: Requests;
  leases: Leases;
  /** Applies an approved change to an existing VM. */
  changes: Pick<VmChanges, 'startApproved'>;
  logger?: Logger | undefined;
  /** VMs of a batch provisioned at once (default 4). */
  batchConcurrency?: number | undefined;
}

export class RequestExecution {
  readonly #deps: ExecutionDeps;
  #observer: ExecutionObserver | undefined;
  /** Requests being provisioned or cleaned up by this process (shutdown and tests wait for them). */
  readonly #running = new Map<string, Promise<void>>();
  readonly #cleaning = new Set<string>();
  /**
   * Why the last run paused on a write that failed (a full disk), until a probe write works again
   * (`WriteHealth` clears it). The failing write may be the audit log's, which `store.health()`
   * does not see: without this the bot would look ready, and take the run over, while the disk is
   * still full.
   */
  unwritable: string | undefined;

  constructor(deps: ExecutionDeps) {
    this.#deps = deps;
  }

  /** Who shows progress (set once by the edge that shows requests). */
  observe(observer: ExecutionObserver): void {
    this.#observer = observer;
  }

  /**
   * Approved → provisioning: create the runs (once) and execute them in the background (a clone is
   * one run that copies its source). An extension or a change is applied instead.
   */
  async startApproved(request: RequestRecord, lead: string): Promise<void> {
    if (request.kind === 'extension') return this.#applyExtension(request, lead);
    if (request.kind === 'change') return this.#deps.changes.startApproved(request, lead);
    const { provisioner, requests } = this.#deps;
    let runs = provisioner.runsForRequest(request.id);
    if (!runs.length) {
      const specs = requestSpecs(request);
      const meta = {
        actor: request.requester,
        requestId: request.id,
        ...(request.lease ? { lease: request.lease } : {}),
        // A copy of a VM: the run clones it (its VM key as approved) instead of building the spec.
        ...(request.kind === 'clone' ? { clone: { vmKey: request.clone.vmKey, name: request.clone.name } } : {}),
      };
      runs = request.kind === 'batch' ? (await createBatch(provisioner, specs, meta)).runs : [await provisioner.createRun(specs[0]!, meta)];
    }
    const started = await requests.startProvisioning(request.id, runs[0]!.id, lead, 'approved', runs[0]!.group);
    this.#launch(
      started,
      runs.map((r) => r.id),
      lead,
      { kind: 'approved' },
    );
  }

  /** An approved lease extension beyond the maximum: applied, the request closed, and told. */
  async #applyExtension(request: RequestRecord, lead: string): Promise<void> {
    const { runId, until } = request.extension!;
    const outcome = await this.#deps.leases.extend(runId, new Date(until), lead, { beyondMax: true });
    const done = await this.#deps.requests.finishExtension(request.id, outcome.ok, outcome.ok ? `lease of run ${runId} now ends ${until}` : outcome.reason);
    await this.#observer?.extended(done, lead, outcome.ok ? { ok: true } : { ok: false, reason: outcome.reason });
  }

  /** Failed → provisioning again: the failed (and not started) runs continue from where they stopped. How many. */
  async retry(request: RequestRecord, lead: string): Promise<number> {
    const again = this.#deps.provisioner.runsForRequest(request.id).filter((r) => isRetryable(r.state));
    if (!again.length && request.state === 'failed')
      throw new RequestError('REQUEST_WRONG_STATE', `${request.id} has no failed VM to retry; nothing was changed.`, request);
    // The compare-and-set: a second click (or a request no longer failed) stops here.
    const started = await this.#deps.requests.startProvisioning(request.id, request.runId!, lead, 'failed');
    this.#launch(
      started,
      again.map((r) => r.id),
      lead,
      { kind: 'retry', lead, runs: again.length },
    );
    return again.length;
  }

  /**
   * Delete what a failed request left (each run's own compare-and-set: exactly once) and close
   * it. Undefined when a deletion failed (the observer is told why; the request stays failed so
   * it can be tried again).
   */
  async cleanup(request: RequestRecord, actor: string): Promise<CleanupOutcome | undefined> {
    if (this.#cleaning.has(request.id))
      throw new RequestError('REQUEST_WRONG_STATE', `${request.id}'s partial VMs are already being deleted; nothing more was changed.`, request);
    this.#cleaning.add(request.id);
    const work = this.#cleanup(request, actor);
    const key = `${request.id}:cleanup`;
    this.#running.set(
      key,
      work.then(
        () => undefined,
        () => undefined,
      ),
    );
    try {
      return await work;
    } finally {
      this.#cleaning.delete(request.id);
      this.#running.delete(key);
    }
  }

  async #cleanup(request: RequestRecord, actor: string): Promise<CleanupOutcome | undefined> {
    const { provisioner, requests } = this.#deps;
    const runs = provisioner.runsForRequest(request.id);
    const partial = runs.filter(leftPartialVm).length;
    const outcome = await cleanupRuns(provisioner, runs, { actor, concurrency: this.#deps.batchConcurrency ?? 4 });
    if (outcome.stillFailed.length) {
      await this.#observer?.cleanupFailed(request, outcome.stillFailed);
      return undefined;
    }
    const cleaned = await requests.markCleanedUp(request.id, actor);
    const deleted = outcome.cleaned.flatMap((r) => (r.keys.vmKey ? [{ name: r.spec.vm.name, vmKey: r.keys.vmKey }] : []));
    const done = { request: cleaned, partial, deleted };
    await this.#observer?.cleanedUp(done);
    return done;
  }

  /** Continue runs a stopped process (or a full disk) left, and say why. */
  resume(request: RequestRecord, runIds: string[], reason: Extract<StartReason, { kind: 'resumed' }>): void {
    this.#launch(request, runIds, 'vmbot', reason);
  }

  /** Resolves when no request is being provisioned or cleaned up by this process. */
  async idle(): Promise<void> {
    while (this.#running.size) await Promise.all(this.#running.values());
  }

  #launch(request: RequestRecord, runIds: string[], actor: string, reason: StartReason): void {
    const work = this.#execute(request, runIds, actor, reason)
      .catch((err: unknown) => this.#deps.logger?.error({ requestId: request.id, err: (err as Error).message }, 'provisioning a request failed unexpectedly'))
      .finally(() => this.#running.delete(request.id));
    this.#running.set(request.id, work);
  }

  async #execute(request: RequestRecord, runIds: string[], actor: string, reason: StartReason): Promise<void> {
    const { provisioner, requests } = this.#deps;
    // Made before the runs start, so it sees their first events; it shows anything a turn later.
    const watch = this.#observer?.started(request, reason);
    const listener = (event: RunEvent): void => {
      if (event.type === 'run_paused') this.unwritable = event.reason;
      watch?.onEvent(event);
    };
    const running =
      request.kind === 'batch' && request.batchId
        ? runBatch(provisioner, request.batchId, runIds, {
            actor,
            concurrency: this.#deps.batchConcurrency ?? 4,
            listener,
            onRunFinished: () => watch?.vmFinished(),
          })
        : provisioner.execute(runIds[0]!, listener, actor);
    // A turn later, so the first VergeOS request is on the wire before anything is rendered.
    if (watch) setImmediate(() => watch.show());
    await running;
    // Shutting down: the runs stopped between steps and resume at the next start, which reports them.
    if (provisioner.stopping) return;
    // The store took no writes: the runs wait where they are and are taken over once it does.
    if (runIds.some((id) => provisioner.pausedForStore(id))) return watch?.halt();
    watch?.finish();
    await this.report(requests.get(request.id), provisioner.runsForRequest(request.id));
  }

  /** Record the outcome of a request's runs on it, then tell the observer. */
  async report(request: RequestRecord, runs: RunRecord[]): Promise<void> {
    const done = await this.#deps.requests.finishProvisioning(request.id, runs);
    await this.#observer?.finished(done, runs);
  }
}
