/**
 * Decisions: Approve, Reject (with a reason), Cancel; and on a failed run, Retry and Delete.
 * Who clicked is checked on the server every time; the state change is a compare-and-set, so
 * double clicks and two leads at once change things exactly once.
 */
import type { App, BlockAction, ViewSubmitAction } from '@slack/bolt';
import { RunBusyError } from '../../provision/provisioner.js';
import { alreadyDecided, approvalsNeeded, RequestError, requestSubject } from '../../requests/requests.js';
import { requestRefusalText } from '../mentions.js';
import type { RequestRecord } from '../../store/records.js';
import { mayDecide, whoMayApprove } from '../policy.js';
import { StoreError } from '../../store/store.js';
import type { BotContext } from '../context.js';
import { escapeText } from '../escape.js';
import { approvalRequest, auditLine, decidedRequest, failureResolved, requesterUpdate, APPROVAL_ACTIONS, say } from '../views/messages.js';
import { REJECT_MODAL_CALLBACK, REJECT_REASON_BLOCK, rejectModal, viewNotOpened } from '../views/other.js';
import { maySee, noSuchRequest } from '../visibility.js';
import { SlackApiError } from '../web-api.js';
import { deletedSummary } from '../request-threads.js';

export function register(app: App, ctx: BotContext): void {
  const clicked = (body: BlockAction) => ({
    user: body.user.id,
    requestId: body.actions[0]?.type === 'button' ? (body.actions[0].value ?? '') : '',
    channel: body.channel?.id,
    messageTs: body.container?.type === 'message' ? (body.container as { message_ts?: string }).message_ts : undefined,
  });

  /** Only leads; anyone else is told so and nothing changes. */
  const leadOnly = async (user: string, channel: string | undefined, what: string): Promise<boolean> => {
    if (await ctx.approvers.isApprover(ctx.slack, user)) return true;
    await ctx.notifier.tell(user, channel, say(`Only leads (${describeApprovers(ctx)}) may ${what}; nothing was changed.`));
    return false;
  };

  const refusal = async (err: unknown, user: string, channel: string | undefined) => {
    if (err instanceof RequestError) return ctx.notifier.tell(user, channel, say(requestRefusalText(err)));
    if (err instanceof RunBusyError || (err instanceof StoreError && err.code === 'STORE_CONFLICT'))
      return ctx.notifier.tell(user, channel, say('That is already under way; nothing more was changed.'));
    throw err;
  };

  /**
   * Whether the clicker may hear about this request: the click came from its message in the
   * approval channel (not yet recorded: see `located`), or they may see it. Anyone else (a forged
   * button value) is answered as for a request that does not exist.
   */
  const sees = async (request: RequestRecord, user: string, channel?: string, messageTs?: string): Promise<boolean> => {
    const fromItsMessage =
      channel === ctx.approvalChannel &&
      messageTs !== undefined &&
      (!request.approvalMessage || (request.approvalMessage.channel === channel && request.approvalMessage.ts === messageTs));
    return fromItsMessage || maySee(ctx, request, user);
  };

  /**
   * A click on the approval message can arrive before the bot has recorded where that message is
   * (a lead faster than the filing, or another replica's): the click says where, so record it.
   */
  const located = async (request: RequestRecord, channel: string | undefined, messageTs: string | undefined): Promise<RequestRecord> => {
    if (request.approvalMessage || !channel || !messageTs || channel !== ctx.approvalChannel) return request;
    return ctx.requests.attachApprovalMessage(request.id, { channel, ts: messageTs }, request.permalink);
  };

  app.action<BlockAction>(APPROVAL_ACTIONS.approve, async ({ ack, body }) => {
    await ack();
    const { user, requestId, channel, messageTs } = clicked(body);
    const loaded = await ctx.requests.load(requestId);
    if (!loaded || !(await sees(loaded, user, channel, messageTs))) return ctx.notifier.tell(user, channel, say(noSuchRequest(requestId)));
    const request = await located(loaded, channel, messageTs);
    // Who may approve is the rule's set, checked now (user groups resolved through Slack).
    const eligible = await mayDecide(ctx, request, user);
    if (!eligible && request.requester !== user) {
      const byLeads = !request.policy || (request.policy.rule === 'default' && (request.policy.from ?? []).join() === 'VM_APPROVERS');
      await ctx.notifier.tell(
        user,
        channel,
        say(
          byLeads
            ? `Only leads (${describeApprovers(ctx)}) may approve VM requests; nothing was changed.`
            : `${request.id} needs approval from ${whoMayApprove(request, ctx.env.VM_APPROVERS)} (rule ${request.policy!.rule}); you are not one of them, so nothing was changed.`,
        ),
      );
      return;
    }
    let outcome;
    try {
      outcome = await ctx.requests.approve(requestId, user, eligible);
    } catch (err) {
      return refusal(err, user, channel);
    }
    if (outcome.complete) return ctx.execution.startApproved(outcome.request, user);
    // Counted, more needed: the message shows who has approved so far.
    const { request: counted } = outcome;
    if (counted.approvalMessage) await ctx.notifier.update(counted.approvalMessage, approvalRequest(counted, ctx.env.VM_APPROVERS, ctx.recipes));
    await ctx.notifier.tell(
      user,
      channel,
      say(
        `Your approval of ${counted.id} counts: ${counted.approvals.length} of ${approvalsNeeded(counted)}. It starts when ${whoMayApprove(counted, ctx.env.VM_APPROVERS)} have approved.`,
      ),
    );
  });

  /** Reject: anyone who may approve this request, or a lead. */
  const mayReject = async (request: RequestRecord, user: string, channel: string | undefined) => {
    if ((await mayDecide(ctx, request, user)) || (await ctx.approvers.isApprover(ctx.slack, user))) return true;
    await ctx.notifier.tell(
      user,
      channel,
      say(`Only ${whoMayApprove(request, ctx.env.VM_APPROVERS)} or a lead (${describeApprovers(ctx)}) may reject ${request.id}; nothing was changed.`),
    );
    return false;
  };

  app.action<BlockAction>(APPROVAL_ACTIONS.reject, async ({ ack, body }) => {
    await ack();
    const { user, requestId, channel, messageTs } = clicked(body);
    const loaded = await ctx.requests.load(requestId);
    if (!loaded || !(await sees(loaded, user, channel, messageTs))) return ctx.notifier.tell(user, channel, say(noSuchRequest(requestId)));
    const request = await located(loaded, channel, messageTs);
    if (!(await mayReject(request, user, channel))) return;
    if (request.state !== 'pending') return refusal(new RequestError('REQUEST_ALREADY_DECIDED', alreadyDecided(request), request), user, channel);
    try {
      await ctx.slack.views.open({ trigger_id: body.trigger_id, view: rejectModal(request.id, requestSubject(request)) });
    } catch (err) {
      ctx.logger.warn({ requestId, err: (err as Error).message }, 'views.open of the rejection form failed');
      await ctx.notifier.tell(user, channel, viewNotOpened('the rejection form', err instanceof SlackApiError ? err.error : undefined));
    }
  });

  app.view<ViewSubmitAction>(REJECT_MODAL_CALLBACK, async ({ ack, body, view }) => {
    const reason = (view.state.values[REJECT_REASON_BLOCK]?.value?.value ?? '').trim();
    if (reason.length < 3) return ack({ response_action: 'errors', errors: { [REJECT_REASON_BLOCK]: 'Say why, so the requester can do something about it.' } });
    await ack();
    const user = body.user.id;
    const pending = await ctx.requests.load(view.private_metadata);
    if (!pending || !(await sees(pending, user))) return ctx.notifier.tell(user, undefined, say(noSuchRequest(view.private_metadata)));
    if (!(await mayReject(pending, user, undefined))) return;
    let rejected;
    try {
      rejected = await ctx.requests.reject(view.private_metadata, user, reason);
    } catch (err) {
      return refusal(err, user, undefined);
    }
    if (rejected.approvalMessage) await ctx.notifier.update(rejected.approvalMessage, decidedRequest(rejected, [], ctx.recipes));
    await ctx.notifier.post(ctx.auditChannel, auditLine('rejected', rejected));
    await ctx.notifier.dm(rejected.requester, requesterUpdate(rejected, `was rejected by <@${user}>: ${escapeText(rejected.reason ?? '')}`));
  });

  app.action<BlockAction>(APPROVAL_ACTIONS.cancel, async ({ ack, body }) => {
    await ack();
    const { user, requestId, channel, messageTs } = clicked(body);
    // Only the requester may cancel; the refusal names them, so only to those who may see it.
    const request = await ctx.requests.load(requestId);
    if (!request || !(await maySee(ctx, request, user))) return ctx.notifier.tell(user, channel, say(noSuchRequest(requestId)));
    let cancelled;
    try {
      cancelled = await ctx.requests.cancel(requestId, user);
    } catch (err) {
      return refusal(err, user, channel);
    }
    if (cancelled.approvalMessage) await ctx.notifier.update(cancelled.approvalMessage, decidedRequest(cancelled, [], ctx.recipes));
    if (channel && messageTs) await ctx.notifier.update({ channel, ts: messageTs }, requesterUpdate(cancelled, 'cancelled.'));
    await ctx.notifier.post(ctx.auditChannel, auditLine('cancelled', cancelled));
  });

  app.action<BlockAction>(APPROVAL_ACTIONS.retry, async ({ ack, body }) => {
    await ack();
    const { user, requestId, channel, messageTs } = clicked(body);
    if (!(await leadOnly(user, channel, 'retry provisioning'))) return;
    const request = await ctx.requests.load(requestId);
    if (!request?.runId) return ctx.notifier.tell(user, channel, say(`There is no failed run for ${requestId}.`));
    const failedMessage = whatFailed(ctx, requestId);
    let retried;
    try {
      retried = await ctx.execution.retry(request, user);
    } catch (err) {
      return refusal(err, user, channel);
    }
    const outcome = request.batch
      ? `:repeat: <@${user}> retried the ${retried} VMs that failed or did not start.`
      : `:repeat: <@${user}> retried from the failed step.`;
    if (channel && messageTs) await ctx.notifier.update({ channel, ts: messageTs }, failureResolved(request, failedMessage, outcome));
  });

  app.action<BlockAction>(APPROVAL_ACTIONS.cleanup, async ({ ack, body }) => {
    await ack();
    const { user, requestId, channel, messageTs } = clicked(body);
    if (!(await leadOnly(user, channel, 'delete partial VMs'))) return;
    const request = await ctx.requests.load(requestId);
    if (!request?.runId || request.state !== 'failed')
      return ctx.notifier.tell(user, channel, say(`${requestId} has no failed run to clean up (it is ${request?.state ?? 'unknown'}).`));
    const failedMessage = whatFailed(ctx, requestId);
    let cleaned;
    try {
      cleaned = await ctx.execution.cleanup(request, user);
    } catch (err) {
      return refusal(err, user, channel);
    }
    if (cleaned && channel && messageTs) {
      await ctx.notifier.update(
        { channel, ts: messageTs },
        failureResolved(cleaned.request, failedMessage, `:wastebasket: <@${user}> deleted ${deletedSummary(cleaned)}.`),
      );
    }
  });
}

/** The failure a Retry or Delete button answers: a run's sentence, or a batch's count. */
function whatFailed(ctx: BotContext, requestId: string): string {
  const runs = ctx.provisioner.runsForRequest(requestId);
  if (runs.length === 1) return runs[0]!.error?.message ?? 'failed';
  const failed = runs.filter((r) => r.state === 'failed' || r.state === 'not_started').length;
  return `${failed} of ${runs.length} VMs failed or did not start.`;
}

function describeApprovers(ctx: BotContext): string {
  return ctx.env.VM_APPROVERS.map((id) => (id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`)).join(', ');
}
