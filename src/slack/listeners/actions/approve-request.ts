/**
 * Approve: anyone the request's rule names (checked now, user groups resolved through Slack).
 * The state change is a compare-and-set, so double clicks and two leads at once count once.
 */
import { approvalsNeeded } from '../../../requests/requests.js';
import type { BotContext } from '../../context.js';
import { mayDecide, whoMayApprove } from '../../policy.js';
import { approvalRequest, say } from '../../views/messages.js';
import { noSuchRequest } from '../../visibility.js';
import type { ActionArgs } from '../args.js';
import { clicked, describeApprovers, located, refusal, sees } from '../decisions.js';

export async function approveRequest({ ack, body }: ActionArgs, ctx: BotContext): Promise<void> {
  await ack();
  const { user, requestId, channel, messageTs } = clicked(body);
  const loaded = await ctx.requests.load(requestId);
  if (!loaded || !(await sees(ctx, loaded, user, channel, messageTs))) return ctx.notifier.tell(user, channel, say(noSuchRequest(requestId)));
  const request = await located(ctx, loaded, channel, messageTs);
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
    return refusal(ctx, err, user, channel);
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
}
