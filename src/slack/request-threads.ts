/**
 * A request's runs, shown in its thread. The thread gets one progress message, edited as steps
 * (one VM) or VMs (a batch) finish, and one summary with every key; a separate reply only where
 * it adds something (a failure, an import still running after a minute, a retry, a restart).
 * Then the audit-channel line and the requester's DM. The core's `RequestExecution` does the
 * work and tells this observer; nothing here waits for Slack before VergeOS work: writes are
 * queued on the notifier, which paces them.
 */
import { createdSoFar } from '../provision/messages.js';
import type { Provisioner, RunEvent } from '../provision/provisioner.js';
import { runResult } from '../provision/result.js';
import type { Requests } from '../requests/requests.js';
import type { RequestRecord, RunRecord } from '../store/records.js';
import type { Recipe } from '../vmspec/recipes.js';
import type { CleanupOutcome, ExecutionObserver, ExecutionWatch, StartReason } from '../workflows/execute-request.js';
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

export interface ThreadDeps {
  provisioner: Provisioner;
  requests: Requests;
  notifier: Notifier;
  auditChannel: string;
  /** After this long importing, the thread is told power-on waits for it (default 60 s). */
  importNoticeMs?: number | undefined;
  /** The progress message is edited at most this often while a run goes on (default 1 s). */
  progressEditMs?: number;
  /** The bot's recipes: the approval message then says "user-data: as in recipe X" rather than show it. */
  recipes?: readonly Recipe[] | undefined;
  /** VergeOS's address, for the ready VM's console link. */
  vergeosUrl?: string | undefined;
}

const RESUMED_BECAUSE: Record<Extract<StartReason, { kind: 'resumed' }>['why'], string> = {
  restart: 'The bot restarted while provisioning',
  writable: 'The bot can save its records again',
  takeover: 'The bot process working on this stopped; another one takes over',
};

/** The thread reply saying why runs start again (none for a first start). */
export function startNote(request: Pick<RequestRecord, 'kind'>, reason: StartReason): string | undefined {
  if (reason.kind === 'approved') return undefined;
  if (reason.kind === 'retry')
    return request.kind === 'batch'
      ? `:repeat: <@${reason.lead}> retries the ${reason.runs} VMs that failed or did not start.`
      : `:repeat: <@${reason.lead}> retries from the failed step.`;
  const why = RESUMED_BECAUSE[reason.why];
  return request.kind === 'batch'
    ? `:arrows_counterclockwise: ${why}: resuming the ${reason.resuming} VMs not yet finished (${reason.finished} were; nothing is created twice).`
    : `:arrows_counterclockwise: ${why}: resuming after step ${reason.afterStep} (nothing is created twice).`;
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
class ThreadReporter implements ExecutionWatch {
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
    private readonly deps: ThreadDeps,
    private readonly thread: MessageRef,
    private readonly request: RequestRecord,
    private readonly note: string | undefined,
  ) {}

  /** The approval message shows the new state; the progress message is posted (or taken up), with why it starts if that needs saying. */
  show(): void {
    void this.deps.notifier.update(this.thread, decidedRequest(this.request, [], this.deps.recipes));
    this.#start();
    if (this.note) void this.deps.notifier.post(this.thread.channel, say(this.note), this.thread.ts);
  }

  /** Post the progress message (or take up the one a previous attempt posted). */
  #start(): void {
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
    if (this.request.kind === 'batch') return batchProgressMessage(this.request, countsOf(this.deps.provisioner.runsForRequest(this.request.id)), done);
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
            `:hourglass_flowing_down: ${this.request.kind === 'batch' ? 'Drives are' : `${event.description}: drives are`} still importing after ${after}; power-on follows as soon as they are done.`,
          ),
          this.thread.ts,
        );
      }, afterMs);
      this.#importTimer.unref();
    }
    if ((event.type === 'step_done' || event.type === 'step_failed') && event.stepId === 'wait_imports' && this.request.kind !== 'batch')
      clearTimeout(this.#importTimer);
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
    if (this.request.kind === 'batch') return;
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

export class RequestThreads implements ExecutionObserver {
  constructor(private readonly deps: ThreadDeps) {}

  /** The approval message in its decided form. */
  #decided(request: RequestRecord): Message {
    return decidedRequest(request, [], this.deps.recipes);
  }

  started(request: RequestRecord, reason: StartReason): ExecutionWatch | undefined {
    const thread = request.approvalMessage;
    return thread ? new ThreadReporter(this.deps, thread, request, startNote(request, reason)) : undefined;
  }

  async extended(done: RequestRecord, lead: string, outcome: { ok: true } | { ok: false; reason: string }): Promise<void> {
    const { notifier, auditChannel } = this.deps;
    const { until } = done.extension!;
    const name = done.spec.vm.name;
    const text = outcome.ok
      ? `:hourglass: *${name}*'s lease now ends ${until}, beyond its maximum, approved by <@${lead}> · ${done.id}`
      : `:x: *${name}*'s extension was approved but could not be applied: ${outcome.reason} · ${done.id}`;
    await Promise.all([
      done.approvalMessage ? notifier.update(done.approvalMessage, this.#decided(done)) : undefined,
      notifier.post(auditChannel, say(text)),
      notifier.dm(done.requester, requesterUpdate(done, outcome.ok ? `approved: ${name} is kept until ${until}.` : `approved, but ${outcome.reason}.`)),
    ]);
  }

  async cleanupFailed(request: RequestRecord, stillFailed: RunRecord[]): Promise<void> {
    const thread = request.approvalMessage;
    if (!thread) return;
    await this.deps.notifier.post(
      thread.channel,
      say(`:warning: ${stillFailed.map((r) => `${r.spec.vm.name}: ${r.error?.message ?? 'cleanup failed'}`).join('\n')}`),
      thread.ts,
    );
  }

  async cleanedUp(outcome: CleanupOutcome): Promise<void> {
    const { notifier, auditChannel, provisioner } = this.deps;
    const cleaned = outcome.request;
    const thread = cleaned.approvalMessage;
    const results = provisioner.runsForRequest(cleaned.id).map(runResult);
    const first = outcome.deleted[0];
    await Promise.all([
      thread ? notifier.update(thread, this.#decided(cleaned)) : undefined,
      thread
        ? notifier.post(
            thread.channel,
            say(
              first
                ? `:wastebasket: Deleted ${cleaned.kind === 'batch' ? deletedSummary(outcome) : `${results[0]!.name} (VM key ${first.vmKey})`} with ${cleaned.kind === 'batch' ? 'their' : 'its'} drives, NICs and devices.`
                : ':wastebasket: Nothing had been created; the request is closed.',
            ),
            thread.ts,
          )
        : undefined,
      notifier.post(auditChannel, auditLine('cleaned_up', cleaned, results[0], cleaned.kind === 'batch' ? results : undefined)),
    ]);
  }

  /** The outcome of a request's runs, told everywhere it belongs (in parallel: each lane paces itself). */
  async finished(done: RequestRecord, runs: RunRecord[]): Promise<void> {
    const { notifier, auditChannel } = this.deps;
    const results = runs.map(runResult);
    const thread = done.approvalMessage;
    const inThread = (message: Message) => (thread ? notifier.post(thread.channel, message, thread.ts) : undefined);
    const writes: Array<Promise<unknown> | undefined> = [];
    if (done.kind === 'batch') {
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
        writes.push(inThread(summaryMessage(done, result!, this.deps.vergeosUrl)));
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

/** "3 partial VMs: a (VM key 1), …" or "the partial VM (VM key 1)": what a cleanup deleted. */
export function deletedSummary(outcome: Pick<CleanupOutcome, 'request' | 'partial' | 'deleted'>): string {
  const keys = outcome.deleted.map((d) => `${d.name} (VM key ${d.vmKey})`);
  if (outcome.request.kind !== 'batch') return `the partial VM${keys.length ? ` (VM key ${outcome.deleted[0]!.vmKey})` : ''}`;
  return `${outcome.partial} partial VM${outcome.partial === 1 ? '' : 's'}${keys.length ? `: ${keys.slice(0, 20).join(', ')}${keys.length > 20 ? ', …' : ''}` : ''}`;
}
