/**
 * What the decision buttons (Approve, Reject, Cancel, Retry, Delete partial VMs) and the
 * rejection form share: who clicked where, whether they may see or decide the request, and how
 * a refusal is said. Who clicked is checked on the server every time.
 */
import type { BlockAction } from '@slack/bolt';
import { isBusy } from '../../errors.js';
import { RequestError } from '../../requests/requests.js';
import type { RequestRecord } from '../../store/records.js';
import type { BotContext } from '../context.js';
import { requestRefusalText } from '../mentions.js';
import { mayDecide, whoMayApprove } from '../policy.js';
import { say } from '../views/messages.js';
import { maySee } from '../visibility.js';
import { isRetryable } from '../../store/run-states.js';

/** Who clicked, the request the button names, and the message it sits on. */
export function clicked(body: BlockAction): { user: string; requestId: string; channel: string | undefined; messageTs: string | undefined } {
  return {
    user: body.user.id,
    requestId: body.actions[0]?.type === 'button' ? (body.actions[0].value ?? '') : '',
    channel: body.channel?.id,
    messageTs: body.container?.type === 'message' ? (body.container as { message_ts?: string }).message_ts : undefined,
  };
}

/** Only leads; anyone else is told so and nothing changes. */
export async function leadOnly(ctx: BotContext, user: string, channel: string | undefined, what: string): Promise<boolean> {
  if (await ctx.approvers.isApprover(ctx.slack, user)) return true;
  await ctx.notifier.tell(user, channel, say(`Only leads (${describeApprovers(ctx)}) may ${what}; nothing was changed.`));
  return false;
}

/** A refused decision said to the clicker (the request's own sentence, or "already under way"); anything else is thrown on. */
export async function refusal(ctx: BotContext, err: unknown, user: string, channel: string | undefined): Promise<void> {
  if (err instanceof RequestError) return ctx.notifier.tell(user, channel, say(requestRefusalText(err)));
  if (isBusy(err)) return ctx.notifier.tell(user, channel, say('That is already under way; nothing more was changed.'));
  throw err;
}

/**
 * Whether the clicker may hear about this request: the click came from its message in the
 * approval channel (not yet recorded: see `located`), or they may see it. Anyone else (a forged
 * button value) is answered as for a request that does not exist.
 */
export async function sees(ctx: BotContext, request: RequestRecord, user: string, channel?: string, messageTs?: string): Promise<boolean> {
  const fromItsMessage =
    channel === ctx.approvalChannel &&
    messageTs !== undefined &&
    (!request.approvalMessage || (request.approvalMessage.channel === channel && request.approvalMessage.ts === messageTs));
  return fromItsMessage || maySee(ctx, request, user);
}

/**
 * A click on the approval message can arrive before the bot has recorded where that message is
 * (a lead faster than the filing, or another replica's): the click says where, so record it.
 */
export async function located(ctx: BotContext, request: RequestRecord, channel: string | undefined, messageTs: string | undefined): Promise<RequestRecord> {
  if (request.approvalMessage || !channel || !messageTs || channel !== ctx.approvalChannel) return request;
  return ctx.requests.attachApprovalMessage(request.id, { channel, ts: messageTs }, request.permalink);
}

/** Reject: anyone who may approve this request, or a lead; anyone else is told who may. */
export async function mayReject(ctx: BotContext, request: RequestRecord, user: string, channel: string | undefined): Promise<boolean> {
  if ((await mayDecide(ctx, request, user)) || (await ctx.approvers.isApprover(ctx.slack, user))) return true;
  await ctx.notifier.tell(
    user,
    channel,
    say(`Only ${whoMayApprove(request, ctx.env.VM_APPROVERS)} or a lead (${describeApprovers(ctx)}) may reject ${request.id}; nothing was changed.`),
  );
  return false;
}

/** The failure a Retry or Delete button answers: a run's sentence, or a batch's count. */
export function whatFailed(ctx: BotContext, requestId: string): string {
  const runs = ctx.provisioner.runsForRequest(requestId);
  if (runs.length === 1) return runs[0]!.error?.message ?? 'failed';
  const failed = runs.filter((r) => isRetryable(r.state)).length;
  return `${failed} of ${runs.length} VMs failed or did not start.`;
}

/** The leads (VM_APPROVERS) as mentions. */
export function describeApprovers(ctx: BotContext): string {
  return ctx.env.VM_APPROVERS.map((id) => (id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`)).join(', ');
}
