/** Delete partial VMs of a failed request (leads only): what the failed run left in VergeOS, once. */
import type { BotContext } from '../../context.js';
import { deletedSummary } from '../../request-threads.js';
import { failureResolved, say } from '../../views/messages.js';
import type { ActionArgs } from '../args.js';
import { clicked, leadOnly, refusal, whatFailed } from '../decisions.js';

export async function deletePartialVms({ ack, body }: ActionArgs, ctx: BotContext): Promise<void> {
  await ack();
  const { user, requestId, channel, messageTs } = clicked(body);
  if (!(await leadOnly(ctx, user, channel, 'delete partial VMs'))) return;
  const request = await ctx.requests.load(requestId);
  if (!request?.runId || request.state !== 'failed')
    return ctx.notifier.tell(user, channel, say(`${requestId} has no failed run to clean up (it is ${request?.state ?? 'unknown'}).`));
  const failedMessage = whatFailed(ctx, requestId);
  let cleaned;
  try {
    cleaned = await ctx.execution.cleanup(request, user);
  } catch (err) {
    return refusal(ctx, err, user, channel);
  }
  if (cleaned && channel && messageTs) {
    await ctx.notifier.update(
      { channel, ts: messageTs },
      failureResolved(cleaned.request, failedMessage, `:wastebasket: <@${user}> deleted ${deletedSummary(cleaned)}.`),
    );
  }
}
