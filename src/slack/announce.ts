/**
 * What Slack shows once the core has filed or decided a request: the approval channel's message
 * (with buttons while pending), the requester's DM, and for an auto-approval the start of
 * provisioning. Used by the form's submission and by the background re-check of requests that
 * waited for pre-flight.
 */
import type { RequestRecord } from '../store/records.js';
import type { BotContext } from './context.js';
import { escapeText } from './escape.js';
import { approvalRequest, decidedRequest, requesterReceipt, requesterUpdate } from './views/messages.js';

type Ctx = Pick<BotContext, 'notifier' | 'requests' | 'execution' | 'approvalChannel' | 'env' | 'recipes'>;

export async function announceFiled(ctx: Ctx, request: RequestRecord, waitingWhy?: string): Promise<void> {
  const user = request.requester;
  if (request.state === 'waiting_preflight') {
    await ctx.notifier.dm(
      user,
      requesterUpdate(
        request,
        `is filed, but ${escapeText(waitingWhy ?? 'VergeOS could not be asked in time')}, so it could not be checked yet (names, cluster, networks, capacity, device kinds). The approval policy decides it once VergeOS answers; leads see it only then. You will hear here.`,
      ),
    );
    return;
  }
  if (request.state === 'rejected') {
    await ctx.notifier.dm(user, requesterUpdate(request, `could not be filed: ${escapeText(request.reason ?? 'pre-flight refused it')}. Nothing was created.`));
    return;
  }
  if (request.state === 'approved') {
    // Approved by the rule: the channel and the audit trail still see it, and it starts now.
    const rule = request.policy?.rule ?? 'the policy';
    const shown = await ctx.notifier.post(ctx.approvalChannel, decidedRequest(request, ctx.env.VM_APPROVERS, ctx.recipes));
    const filed = shown ? await ctx.requests.attachApprovalMessage(request.id, shown, await ctx.notifier.permalink(shown)) : request;
    void ctx.notifier.dm(
      user,
      requesterUpdate(filed, `was approved without a click by rule ${rule}; provisioning starts now and you will hear here when it is done.`),
    );
    await ctx.execution.startApproved(filed, `policy:${rule}`);
    return;
  }
  const posted = await ctx.notifier.post(ctx.approvalChannel, approvalRequest(request, ctx.env.VM_APPROVERS, ctx.recipes));
  if (!posted) {
    await ctx.notifier.dm(user, {
      text: `${request.id} was filed but could not be posted to the approval channel; ask a lead to look at \`/vm-create status ${request.id}\`.`,
      blocks: [],
    });
    return;
  }
  const withMessage = await ctx.requests.attachApprovalMessage(request.id, posted, await ctx.notifier.permalink(posted));
  await ctx.notifier.dm(user, requesterReceipt(withMessage));
}
