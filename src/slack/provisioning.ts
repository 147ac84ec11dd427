/**
 * A request's run, reported in its thread: a progress message, one reply per step while Slack's
 * pace allows it (steps that finish faster are batched into the progress message instead), the
 * summary with every key, the audit-channel line and the requester's DM.
 */
import type { Logger } from '../log.js';
import { createdSoFar } from '../provision/messages.js';
import type { Provisioner, RunEvent } from '../provision/provisioner.js';
import { runResult } from '../provision/result.js';
import { RequestError, type Requests } from '../requests/requests.js';
import type { RequestRecord, RunRecord } from '../store/records.js';
import type { Notifier, MessageRef } from './notifier.js';
import { auditLine, decidedRequest, failureMessage, progressMessage, requesterUpdate, stepLine, summaryMessage } from './views/messages.js';

export interface ProvisioningDeps {
  provisioner: Provisioner;
  requests: Requests;
  notifier: Notifier;
  auditChannel: string;
  logger?: Logger | undefined;
}

/** Collects step lines; posts one reply per step when there is time, else updates the progress message. */
class ThreadReporter {
  readonly lines: string[] = [];
  #pending: string[] = [];
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly notifier: Notifier,
    private readonly thread: MessageRef,
    private readonly progress: MessageRef | undefined,
    private readonly request: RequestRecord,
  ) {}

  add(line: string): void {
    this.lines.push(line);
    this.#pending.push(line);
    this.#flushing = this.#flushing.then(() => this.#flush());
  }

  async #flush(): Promise<void> {
    if (!this.#pending.length) return;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 1) await this.notifier.post(this.thread.channel, { text: batch[0]!, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: batch[0]! } }] }, this.thread.ts);
    if (this.progress) await this.notifier.update(this.progress, progressMessage(this.request, this.lines, false));
  }

  async finish(): Promise<void> {
    await this.#flushing;
    if (this.progress) await this.notifier.update(this.progress, progressMessage(this.request, this.lines, true));
  }
}

export class RequestProvisioning {
  readonly #deps: ProvisioningDeps;
  /** Runs reported by this process, so shutdown and tests can wait for them. */
  readonly #running = new Map<string, Promise<void>>();

  constructor(deps: ProvisioningDeps) {
    this.#deps = deps;
  }

  /** Approved → provisioning: create the run (once) and execute it in the background. */
  async startApproved(request: RequestRecord, lead: string): Promise<void> {
    const run = this.#deps.provisioner.runForRequest(request.id) ?? (await this.#deps.provisioner.createRun(request.spec, { actor: request.requester, requestId: request.id }));
    const started = await this.#deps.requests.startProvisioning(request.id, run.id, lead, 'approved');
    this.#launch(started, run.id, lead, 'Approved; provisioning starts now.');
  }

  /** Failed → provisioning again: the same run continues from its failed step. */
  async retry(request: RequestRecord, lead: string): Promise<void> {
    const run = this.#deps.provisioner.runForRequest(request.id);
    if (run?.state !== 'failed') throw new RequestError('REQUEST_WRONG_STATE', `${request.id}'s run is ${run?.state.replace('_', ' ') ?? 'missing'}; nothing was changed.`, request);
    const started = await this.#deps.requests.startProvisioning(request.id, request.runId!, lead, 'failed');
    this.#launch(started, request.runId!, lead, `<@${lead}> retries from the failed step.`);
  }

  /**
   * Delete a failed request's partial VM (exactly once: the run's own compare-and-set), then say
   * so in the thread and the audit channel. Undefined when the cleanup itself failed (the thread
   * says why; the request stays failed so it can be tried again).
   */
  async cleanup(request: RequestRecord, actor: string): Promise<{ request: RequestRecord; vmKey: string | null } | undefined> {
    const { provisioner, requests, notifier, auditChannel } = this.#deps;
    const run = await provisioner.cleanup(request.runId!, actor);
    const thread = request.approvalMessage;
    const say = (text: string) => (thread ? notifier.post(thread.channel, { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] }, thread.ts) : undefined);
    if (run.state !== 'cleaned_up') {
      await say(`:warning: ${run.error?.message ?? 'Cleanup failed.'}`);
      return undefined;
    }
    const cleaned = await requests.markCleanedUp(request.id, actor);
    const result = runResult(run);
    if (thread) await notifier.update(thread, decidedRequest(cleaned));
    await say(result.vmKey ? `:wastebasket: Deleted ${result.name} (VM key ${result.vmKey}) with its drives, NICs and devices.` : ':wastebasket: Nothing had been created; the request is closed.');
    await notifier.post(auditChannel, auditLine('cleaned_up', cleaned, result));
    return { request: cleaned, vmKey: result.vmKey };
  }

  /** After a restart: continue a run that was interrupted, and say so. */
  resume(request: RequestRecord, reason: string): void {
    this.#launch(request, request.runId!, 'vmbot', reason);
  }

  async idle(): Promise<void> {
    while (this.#running.size) await Promise.all(this.#running.values());
  }

  #launch(request: RequestRecord, runId: string, actor: string, intro: string): void {
    const work = this.#execute(request, runId, actor, intro)
      .catch((err: unknown) => this.#deps.logger?.error({ requestId: request.id, err: (err as Error).message }, 'provisioning a request failed unexpectedly'))
      .finally(() => this.#running.delete(request.id));
    this.#running.set(request.id, work);
  }

  async #execute(request: RequestRecord, runId: string, actor: string, intro: string): Promise<void> {
    const { notifier, provisioner, requests } = this.#deps;
    const thread = request.approvalMessage;
    if (request.approvalMessage) await notifier.update(request.approvalMessage, decidedRequest(request));
    let progress = request.progressMessage;
    if (thread) {
      await notifier.post(thread.channel, { text: intro, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: intro } }] }, thread.ts);
      if (!progress) {
        progress = await notifier.post(thread.channel, progressMessage(request, [], false), thread.ts);
        if (progress) await requests.attachProgressMessage(request.id, progress);
      }
    }
    const reporter = thread ? new ThreadReporter(notifier, thread, progress, request) : undefined;
    const onEvent = (event: RunEvent) => {
      if (event.type === 'step_done') reporter?.add(stepLine(event));
      if (event.type === 'step_failed') reporter?.add(`:x: ${event.index + 1}/${event.total} ${event.error.message}`);
    };
    const finished = await provisioner.execute(runId, onEvent, actor);
    await reporter?.finish();
    await this.report(requests.get(request.id), finished);
  }

  /** The outcome of a run, told everywhere it belongs. */
  async report(request: RequestRecord, run: RunRecord): Promise<void> {
    const { notifier, requests, auditChannel } = this.#deps;
    const done = await requests.finishProvisioning(request.id, run);
    const result = runResult(run);
    const thread = done.approvalMessage;
    if (thread) await notifier.update(thread, decidedRequest(done));
    if (run.state === 'succeeded') {
      if (thread) await notifier.post(thread.channel, summaryMessage(done, result), thread.ts);
      await notifier.post(auditChannel, auditLine('provisioned', done, result));
      await notifier.dm(done.requester, requesterUpdate(done, `is ready: VM key ${result.vmKey}, machine key ${result.machineKey}.`));
    } else {
      const message = run.error?.message ?? 'the run stopped';
      if (thread) await notifier.post(thread.channel, failureMessage(done, message, createdSoFar(run)), thread.ts);
      await notifier.post(auditChannel, auditLine('failed', done, result));
      await notifier.dm(done.requester, requesterUpdate(done, `provisioning failed: ${message} A lead can retry it or delete the partial VM.`));
    }
  }
}
