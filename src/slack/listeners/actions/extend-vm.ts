/** Extend: keep a VM one lease period longer; beyond the lease's maximum, a request for a lead to approve. */
import type { BotContext } from '../../context.js';
import { escapeText, slackDate } from '../../escape.js';
import { approvalRequest, say } from '../../views/messages.js';
import type { ActionArgs } from '../args.js';
import { vmTarget } from './vm-target.js';

export async function extendVm({ ack, body }: ActionArgs, ctx: BotContext): Promise<void> {
  await ack();
  const t = await vmTarget(body, ctx);
  if (!t) return;
  const outcome = await ctx.vms.extendByLease(t.vm, t.user);
  if (outcome.kind === 'no_lease') return ctx.notifier.tell(t.user, t.channel, say(`${t.name} has no lease to extend; it is kept until deleted.`));
  if (outcome.kind === 'refused') return ctx.notifier.tell(t.user, t.channel, say(`${t.name}: ${escapeText(outcome.reason)}. Nothing was changed.`));
  if (outcome.kind === 'requested') {
    const { request } = outcome;
    if (!outcome.created)
      return ctx.notifier.tell(t.user, t.channel, say(`${request.id} already asks to keep ${t.name} until ${slackDate(request.extension!.until)}.`));
    const posted = await ctx.notifier.post(ctx.approvalChannel, approvalRequest(request));
    if (posted) await ctx.requests.attachApprovalMessage(request.id, posted, await ctx.notifier.permalink(posted));
    const why = `Keeping ${t.name} until ${slackDate(outcome.until)} is beyond the most its lease allows, so ${request.id} asks a lead to approve it. You will hear when it is decided.`;
    return ctx.notifier.tell(t.user, t.channel, say(why));
  }
  ctx.homeTabs.vmChanged(t.vm);
  const poweredOff = outcome.wasExpired ? ' It was powered off when its lease ended: power it on from `/vm-create mine`.' : '';
  await ctx.notifier.tell(t.user, t.channel, say(`${t.name} is kept until ${slackDate(outcome.endsAt)}.${poweredOff}`));
}
