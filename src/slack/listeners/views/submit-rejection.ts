/** The rejection form's submission: a reason of a few words, then the rejection, the approval message, the audit line and the requester told. */
import type { BotContext } from '../../context.js';
import { escapeText } from '../../escape.js';
import { auditLine, decidedRequest, requesterUpdate, say } from '../../views/messages.js';
import { REJECT_REASON_BLOCK } from '../../views/other.js';
import { noSuchRequest } from '../../visibility.js';
import type { SubmissionArgs } from '../args.js';
import { mayReject, refusal, sees } from '../decisions.js';

export async function submitRejection({ ack, body, view }: SubmissionArgs, ctx: BotContext): Promise<void> {
  const reason = (view.state.values[REJECT_REASON_BLOCK]?.value?.value ?? '').trim();
  if (reason.length < 3) return ack({ response_action: 'errors', errors: { [REJECT_REASON_BLOCK]: 'Say why, so the requester can do something about it.' } });
  await ack();
  const user = body.user.id;
  const pending = await ctx.requests.load(view.private_metadata);
  if (!pending || !(await sees(ctx, pending, user))) return ctx.notifier.tell(user, undefined, say(noSuchRequest(view.private_metadata)));
  if (!(await mayReject(ctx, pending, user, undefined))) return;
  let rejected;
  try {
    rejected = await ctx.requests.reject(view.private_metadata, user, reason);
  } catch (err) {
    return refusal(ctx, err, user, undefined);
  }
  if (rejected.approvalMessage) await ctx.notifier.update(rejected.approvalMessage, decidedRequest(rejected, [], ctx.recipes));
  await ctx.notifier.post(ctx.auditChannel, auditLine('rejected', rejected));
  await ctx.notifier.dm(rejected.requester, requesterUpdate(rejected, `was rejected by <@${user}>: ${escapeText(rejected.reason ?? '')}`));
}
