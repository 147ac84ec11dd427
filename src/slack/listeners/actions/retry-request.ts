/** Retry a failed request (leads only): a VM from its failed step, a batch's failed and unstarted VMs. */
import type { BotContext } from '../../context.js';
import { failureResolved, say } from '../../views/messages.js';
import type { ActionArgs } from '../args.js';
import { clicked, leadOnly, refusal, whatFailed } from '../decisions.js';

export async function retryRequest({ ack, body }: ActionArgs, ctx: BotContext): Promise<void> {
  await ack();
  const { user, requestId, channel, messageTs } = clicked(body);
  if (!(await leadOnly(ctx, user, channel, 'retry provisioning'))) return;
  const request = await ctx.requests.load(requestId);
  if (!request?.runId) return ctx.notifier.tell(user, channel, say(`There is no failed run for ${requestId}.`));
  const failedMessage = whatFailed(ctx, requestId);
  let retried;
  try {
    retried = await ctx.execution.retry(request, user);
  } catch (err) {
    return refusal(ctx, err, user, channel);
  }
  const outcome = request.batch
    ? `:repeat: <@${user}> retried the ${retried} VMs that failed or did not start.`
    : `:repeat: <@${user}> retried from the failed step.`;
  if (channel && messageTs) await ctx.notifier.update({ channel, ts: messageTs }, failureResolved(request, failedMessage, outcome));
}
