/**
 * A request's runs, reported in its thread. The thread gets one progress message, edited as
 * steps (one VM) or VMs (a batch) finish, and one summary with every key; a separate reply only
 * where it adds something (a failure, an import still running after a minute, a retry, a
 * restart). Then the audit-channel line and the requester's DM. Nothing here waits for Slack
 * before VergeOS work: writes are queued on the notifier, which paces them.
 */
import { cleanupRuns, createBatch, leftPartialVm, runBatch } from '../batches/batch.js';
import type { Logger } from '../log.js';
import type { Leases } from '../leases/leases.js';
import { createdSoFar } from '../provision/messages.js';
import type { Provisioner, RunEvent } from '../provision/provisioner.js';
import { runResult } from '../provision/result.js';
import { RequestError, requestSpecs, type Requests } from '../requests/requests.js';
import type { RequestRecord, RunRecord } from '../store/records.js';
import type { Recipe } from '../vmspec/recipes.js';
import type { MessageRef, Notifier } from './notifier.js';
import {
  auditLine,
  batchFailureMessage,
  batchProgressMessage,
  batchSummaryMessages,
  decidedRequest,
  failureMessage,
  progressMessage,
  requesterUpdate,
  say,
  stepLine,
  summaryMessage,
  type BatchCounts,
  type Message,
} from './views/messages.js';

export interface ProvisioningDeps {
  provisioner: Provisioner;
  requests: Requests;
  notifier: Notifier;
  auditChannel: string;
  logger?: Logger | undefined;
  /** VMs of a batch provisioned at once (default 4). */
  batchConcurrency?: number;
  /** After this long importing, the thread is told power-on waits for it (default 60 s). */
  importNoticeMs?: number;
  /** Leases, for approved extensions. */
  leases: Leases;
  /** The progress message is edited at most this often while a run goes on (default 1 s). */
  progressEditMs?: number;
  /** The bot's recipes: the approval message then says "user-data: as in recipe X" rather than show it. */
  recipes?: readonly Recipe[] | undefined;
}

/** Counts for a batch's progress message, from its runs as stored now. */
function countsOf(runs: RunRecord[]): BatchCounts {
  const failed = runs.filter((r) => r.state === 'failed');
  return {
    total: runs.length,
    ready: runs.filter((r) => r.state === 'succeeded').length,
    failed: failed.length,
    notStarted: runs.filter((r) => r.state === 'not_started').length,
    failedNames: failed.map((r) => r.spec.vm.name),
  };
}

/** The run's progress message in the thread: posted once, then edited (edits coalesce in the notifier). */
class ThreadReporter {
  readonly #lines: string[] = [];
  #ref: Promise<MessageRef | undefined> = Promise.resolve(undefined);
  #importTimer: NodeJS.Timeout | undefined;
  #importNoticed = false;
  /** One pause notice per request, however many of a batch's VMs paused. */
  #pauseTold = false;
  #done = false;
  /** A pending edit: progress is shown at most every progressEditMs, the latest state each time. */
  #editTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: ProvisioningDeps,
    private readonly thread: MessageRef,
    private readonly request: RequestRecord,
  ) {}

  /** Post the progress message (or take up the one a previous attempt posted). */
  start(): void {
    const existing = this.request.progressMessage;
    this.#ref = existing
      ? Promise.resolve(existing)
      : this.deps.notifier.post(this.thread.channel, this.#message(this.#done), this.thread.ts).then(async (ref) => {
          if (ref) await this.deps.requests.attachProgressMessage(this.request.id, ref).catch(() => undefined);
          return ref;
        });
    if (existing) this.#edit(this.#done);
  }

  #message(done: boolean): Message {
    if (this.request.batch) return batchProgressMessage(this.request, countsOf(this.deps.provisioner.runsForRequest(this.request.id)), done);
    return progressMessage(this.request, this.#lines, done);
  }

  #show(done: boolean): void {
    if (!done) {
      // While the run goes on, at most one edit per interval, showing the state at that moment:
      // a fast run's message is edited once, when it finishes.
      this.#editTimer ??= setTimeout(() => {
        this.#editTimer = undefined;
        this.#edit(false);
      }, this.deps.progressEditMs ?? 1_000).unref();
      return;
    }
    clearTimeout(this.#editTimer);
    this.#editTimer = undefined;
    this.#edit(true);
  }

  #edit(done: boolean): void {
    // Rendered when the message exists, so an edit that waited shows the latest state.
    void this.#ref.then((ref) => (ref ? this.deps.notifier.update(ref, this.#message(done || this.#done)) : undefined));
  }

  /** Step events of a run (sync: the run never waits for Slack). */
  readonly onEvent = (event: RunEvent): void => {
    // One notice per request, however many of a batch's VMs import at once.
    if (event.type === 'step_started' && event.stepId === 'wait_imports' && !this.#importNoticed && !this.#importTimer) {
      const afterMs = this.deps.importNoticeMs ?? 60_000;
      const after =
        afterMs % 60_000 === 0 ? (afterMs === 60_000 ? 'a minute' : `${afterMs / 60_000} minutes`) : `${(afterMs / 1000).toFixed(1).replace(/\.0$/, '')} s`;
      this.#importTimer = setTimeout(() => {
        this.#importNoticed = true;
        void this.deps.notifier.post(
          this.thread.channel,
          say(
            `:hourglass_flowing_down: ${this.request.batch ? 'Drives are' : `${event.description}: drives are`} still importing after ${after}; power-on follows as soon as they are done.`,
          ),
          this.thread.ts,
        );
      }, afterMs);
      this.#importTimer.unref();
    }
    if ((event.type === 'step_done' || event.type === 'step_failed') && event.stepId === 'wait_imports' && !this.request.batch) clearTimeout(this.#importTimer);
    if (event.type === 'run_paused' && !this.#pauseTold) {
      this.#pauseTold = true;
      void this.deps.notifier.post(
        this.thread.channel,
        say(
          `:double_vertical_bar: Paused: the bot can't save its records right now (${event.reason}). Nothing more is sent to VergeOS until it can; then it resumes from here by itself, and nothing is created twice.`,
        ),
        this.thread.ts,
      );
      return;
    }
    if (this.request.batch) return;
    if (event.type === 'step_done') this.#lines.push(stepLine(event));
    else if (event.type === 'step_failed') this.#lines.push(`:x: ${event.index + 1}/${event.total} ${event.error.message}`);
    else return;
    this.#show(false);
  };

  /** A batch VM finished. */
  vmFinished(): void {
    this.#show(false);
  }

  /**
   * The runs paused: shows the progress so far now and schedules nothing more, so a late edit of
   * this reporter can't overwrite the one that takes the runs over.
   */
  halt(): void {
    clearTimeout(this.#importTimer);
    clearTimeout(this.#editTimer);
    this.#editTimer = undefined;
    this.#edit(false);
  }

  finish(): void {
    clearTimeout(this.#importTimer);
    this.#done = true;
    this.#show(true);
  }
}

export class RequestProvisioning {
  readonly #deps: ProvisioningDeps;
  /** Requests being provisioned or cleaned up by this process (shutdown and tests wait for them). */
  readonly #running = new Map<string, Promise<void>>();
  readonly #cleaning = new Set<string>();
  /**
   * Why the last run paused on a write that failed (a full disk), until a probe write works again
   * (the bot clears it then). The failing write may be the audit log's, which `store.health()`
   * does not see: without this the bot would look ready, and take the run over, while the disk is
   * still full.
   */
  unwritable: string | undefined;

  constructor(deps: ProvisioningDeps) {
    this.#deps = deps;
  }

  /** The approval message in its decided form. */
  #decided(request: RequestRecord): Message {
    return decidedRequest(request, [], this.#deps.recipes);
  }

  /** Approved → provisioning: create the runs (once) and execute them in the background. An extension is applied instead. */
  async startApproved(request: RequestRecord, lead: string): Promise<void> {
    if (request.extension) return this.#applyExtension(request, lead);
    const { provisioner, requests } = this.#deps;
    let runs = provisioner.runsForRequest(request.id);
    if (!runs.length) {
      const specs = requestSpecs(request);
      const meta = { actor: request.requester, requestId: request.id, ...(request.lease ? { lease: request.lease } : {}) };
      runs = request.batch ? (await createBatch(provisioner, specs, meta)).runs : [await provisioner.createRun(specs[0]!, meta)];
    }
    const started = await requests.startProvisioning(request.id, runs[0]!.id, lead, 'approved', runs[0]!.group);
    this.#launch(
      started,
      runs.map((r) => r.id),
      lead,
    );
  }

  /** An approved lease extension beyond the maximum: applied, then told to the owner, the thread and the audit channel. */
  async #applyExtension(request: RequestRecord, lead: string): Promise<void> {
    const { leases, requests, notifier, auditChannel } = this.#deps;
    const { runId, until } = request.extension!;
    const outcome = await leases.extend(runId, new Date(until), lead, { beyondMax: true });
    const done = await requests.finishExtension(request.id, outcome.ok, outcome.ok ? `lease of run ${runId} now ends ${until}` : outcome.reason);
    const name = request.spec.vm.name;
    const text = outcome.ok
      ? `:hourglass: *${name}*'s lease now ends ${until}, beyond its maximum, approved by <@${lead}> · ${request.id}`
      : `:x: *${name}*'s extension was approved but could not be applied: ${outcome.reason} · ${request.id}`;
    await Promise.all([
      done.approvalMessage ? notifier.update(done.approvalMessage, this.#decided(done)) : undefined,
      notifier.post(auditChannel, say(text)),
      notifier.dm(done.requester, requesterUpdate(done, outcome.ok ? `approved: ${name} is kept until ${until}.` : `approved, but ${outcome.reason}.`)),
    ]);
  }

  /** Failed → provisioning again: the failed (and not started) runs continue from where they stopped. */
  async retry(request: RequestRecord, lead: string): Promise<number> {
    const again = this.#deps.provisioner.runsForRequest(request.id).filter((r) => r.state === 'failed' || r.state === 'not_started');
    if (!again.length && request.state === 'failed')
      throw new RequestError('REQUEST_WRONG_STATE', `${request.id} has no failed VM to retry; nothing was changed.`, request);
    // The compare-and-set: a second click (or a request no longer failed) stops here.
    const started = await this.#deps.requests.startProvisioning(request.id, request.runId!, lead, 'failed');
    this.#launch(
      started,
      again.map((r) => r.id),
      lead,
      request.batch ? `:repeat: <@${lead}> retries the ${again.length} VMs that failed or did not start.` : `:repeat: <@${lead}> retries from the failed step.`,
    );
    return again.length;
  }

  /**
   * Delete what a failed request left (each run's own compare-and-set: exactly once), then say so
   * in the thread and the audit channel. Undefined when a deletion failed (the thread says why;
   * the request stays failed so it can be tried again).
   */
  async cleanup(request: RequestRecord, actor: string): Promise<{ request: RequestRecord; deleted: string } | undefined> {
    const { provisioner, requests, notifier, auditChannel } = this.#deps;
    if (this.#cleaning.has(request.id))
      throw new RequestError('REQUEST_WRONG_STATE', `${request.id}'s partial VMs are already being deleted; nothing more was changed.`, request);
    this.#cleaning.add(request.id);
    const work = (async () => {
      const runs = provisioner.runsForRequest(request.id);
      const partial = runs.filter(leftPartialVm).length;
      const outcome = await cleanupRuns(provisioner, runs, { actor, concurrency: this.#deps.batchConcurrency ?? 4 });
      const thread = request.approvalMessage;
      const tell = (text: string) => (thread ? notifier.post(thread.channel, say(text), thread.ts) : undefined);
      if (outcome.stillFailed.length) {
        await tell(`:warning: ${outcome.stillFailed.map((r) => `${r.spec.vm.name}: ${r.error?.message ?? 'cleanup failed'}`).join('\n')}`);
        return undefined;
      }
      const cleaned = await requests.markCleanedUp(request.id, actor);
      const deletedKeys = outcome.cleaned.filter((r) => r.keys.vmKey).map((r) => `${r.spec.vm.name} (VM key ${r.keys.vmKey})`);
      const deleted = request.batch
        ? `${partial} partial VM${partial === 1 ? '' : 's'}${deletedKeys.length ? `: ${deletedKeys.slice(0, 20).join(', ')}${deletedKeys.length > 20 ? ', …' : ''}` : ''}`
        : `the partial VM${deletedKeys.length ? ` (VM key ${outcome.cleaned[0]!.keys.vmKey})` : ''}`;
      const results = provisioner.runsForRequest(request.id).map(runResult);
      await Promise.all([
        thread ? notifier.update(thread, this.#decided(cleaned)) : undefined,
        tell(
          deletedKeys.length
            ? `:wastebasket: Deleted ${request.batch ? deleted : `${results[0]!.name} (VM key ${outcome.cleaned[0]!.keys.vmKey})`} with ${request.batch ? 'their' : 'its'} drives, NICs and devices.`
            : ':wastebasket: Nothing had been created; the request is closed.',
        ),
        notifier.post(auditChannel, auditLine('cleaned_up', cleaned, results[0], request.batch ? results : undefined)),
      ]);
      return { request: cleaned, deleted };
    })();
    this.#running.set(
      `${request.id}:cleanup`,
      work.then(
        () => undefined,
        () => undefined,
      ),
    );
    try {
      return await work;
    } finally {
      this.#cleaning.delete(request.id);
      this.#running.delete(`${request.id}:cleanup`);
    }
  }

  /** After a restart: continue runs that were interrupted, and say so. */
  resume(request: RequestRecord, runIds: string[], reason: string): void {
    this.#launch(request, runIds, 'vmbot', reason);
  }

  async idle(): Promise<void> {
    while (this.#running.size) await Promise.all(this.#running.values());
  }

  #launch(request: RequestRecord, runIds: string[], actor: string, note?: string): void {
    const work = this.#execute(request, runIds, actor, note)
      .catch((err: unknown) => this.#deps.logger?.error({ requestId: request.id, err: (err as Error).message }, 'provisioning a request failed unexpectedly'))
      .finally(() => this.#running.delete(request.id));
    this.#running.set(request.id, work);
  }

  async #execute(request: RequestRecord, runIds: string[], actor: string, note?: string): Promise<void> {
    const { notifier, provisioner, requests } = this.#deps;
    const thread = request.approvalMessage;
    const reporter = thread ? new ThreadReporter(this.#deps, thread, request) : undefined;
    const listener = (event: RunEvent): void => {
      if (event.type === 'run_paused') this.unwritable = event.reason;
      reporter?.onEvent(event);
    };
    // VergeOS work starts first; Slack writes are queued behind it and paced on their own.
    const running =
      request.batch && request.batchId
        ? runBatch(provisioner, request.batchId, runIds, {
            actor,
            concurrency: this.#deps.batchConcurrency ?? 4,
            listener,
            onRunFinished: () => reporter?.vmFinished(),
          })
        : provisioner.execute(runIds[0]!, listener, actor);
    if (thread) {
      // A turn later, so the first VergeOS request is on the wire before any message is rendered.
      setImmediate(() => {
        reporter!.start();
        void notifier.update(thread, this.#decided(request));
        if (note) void notifier.post(thread.channel, say(note), thread.ts);
      });
    }
    await running;
    // Shutting down: the runs stopped between steps and resume at the next start, which reports them.
    if (provisioner.stopping) return;
    // The store took no writes: the runs wait where they are and are taken over once it does.
    if (runIds.some((id) => provisioner.pausedForStore(id))) return reporter?.halt();
    reporter?.finish();
    await this.report(requests.get(request.id), provisioner.runsForRequest(request.id));
  }

  /** The outcome of a request's runs, told everywhere it belongs (in parallel: each lane paces itself). */
  async report(request: RequestRecord, runs: RunRecord[]): Promise<void> {
    const { notifier, requests, auditChannel } = this.#deps;
    const done = await requests.finishProvisioning(request.id, runs);
    const results = runs.map(runResult);
    const thread = done.approvalMessage;
    const inThread = (message: Message) => (thread ? notifier.post(thread.channel, message, thread.ts) : undefined);
    const writes: Array<Promise<unknown> | undefined> = [];
    if (done.batch) {
      const count = (state: RunRecord['state']) => runs.filter((r) => r.state === state).length;
      const stopReason = runs.find((r) => r.state === 'not_started')?.error?.message.replace(/^Not started: /, '');
      writes.push(...batchSummaryMessages(done, results).map(inThread));
      if (done.state === 'succeeded') {
        writes.push(notifier.post(auditChannel, auditLine('provisioned', done, undefined, results)));
        writes.push(notifier.dm(done.requester, requesterUpdate(done, `is ready: all ${results.length} VMs (see the thread for every key).`)));
      } else {
        writes.push(inThread(batchFailureMessage(done, results, stopReason)));
        writes.push(notifier.post(auditChannel, auditLine('failed', done, undefined, results)));
        writes.push(
          notifier.dm(
            done.requester,
            requesterUpdate(
              done,
              `${count('succeeded')} of ${results.length} VMs are ready; ${count('failed')} failed${count('not_started') ? `, ${count('not_started')} not started` : ''}. A lead can retry them or delete the partial VMs.`,
            ),
          ),
        );
      }
    } else {
      const [run] = runs;
      const [result] = results;
      if (run!.state === 'succeeded') {
        writes.push(inThread(summaryMessage(done, result!)));
        writes.push(notifier.post(auditChannel, auditLine('provisioned', done, result)));
        writes.push(notifier.dm(done.requester, requesterUpdate(done, `is ready: VM key ${result!.vmKey}, machine key ${result!.machineKey}.`)));
      } else {
        const message = run!.error?.message ?? 'the run stopped';
        writes.push(inThread(failureMessage(done, message, createdSoFar(run!))));
        writes.push(notifier.post(auditChannel, auditLine('failed', done, result)));
        writes.push(notifier.dm(done.requester, requesterUpdate(done, `provisioning failed: ${message} A lead can retry it or delete the partial VM.`)));
      }
    }
    // The approval message's new state last: the summary and the audit line are what people wait for.
    if (thread) writes.push(notifier.update(thread, this.#decided(done)));
    await Promise.all(writes.filter((w) => w !== undefined));
  }
}
