/** Cancel: only the requester; the refusal names them, so it goes only to those who may see the request. */
import type { BotContext } from '../../context.js';
import { auditLine, decidedRequest, requesterUpdate, say } from '../../views/messages.js';
import { maySee, noSuchRequest } from '../../visibility.js';
import type { ActionArgs } from '../args.js';
import { clicked, refusal } from '../decisions.js';

export async function cancelRequest({ ack, body }: ActionArgs, ctx: BotContext): Promise<void> {
  await ack();
  const { user, requestId, channel, messageTs } = clicked(body);
  const request = await ctx.requests.load(requestId);
  if (!request || !(await maySee(ctx, request, user))) return ctx.notifier.tell(user, channel, say(noSuchRequest(requestId)));
  let cancelled;
  try {
    cancelled = await ctx.requests.cancel(requestId, user);
  } catch (err) {
    return refusal(ctx, err, user, channel);
  }
  if (cancelled.approvalMessage) await ctx.notifier.update(cancelled.approvalMessage, decidedRequest(cancelled, [], ctx.recipes));
  if (channel && messageTs) await ctx.notifier.update({ channel, ts: messageTs }, requesterUpdate(cancelled, 'cancelled.'));
  await ctx.notifier.post(ctx.auditChannel, auditLine('cancelled', cancelled));
}
