/**
 * Day-2 buttons on the VMs the bot made: Power on, Power off (graceful, then kill), Extend and
 * Delete (decommission). Who may act and the action itself are the core's (`workflows/vm-actions`);
 * this parses the click and says what happened. Each runs once however often it is clicked.
 */
import type { App, BlockAction } from '@slack/bolt';
import { isBusy } from '../../errors.js';
import { ownerOf } from '../../workflows/vm-actions.js';
import type { BotContext } from '../context.js';
import { escapeText, slackDate } from '../escape.js';
import { approvalRequest, say } from '../views/messages.js';
import { VM_ACTIONS } from '../views/vms.js';

export function register(app: App, ctx: BotContext): void {
  /** The VM a button names, if the clicker may act on it (told otherwise). */
  const target = async (body: BlockAction) => {
    const user = body.user.id;
    const channel = body.channel?.id;
    const runId = body.actions[0]?.type === 'button' ? (body.actions[0].value ?? '') : '';
    const access = await ctx.vms.access(runId, user, (u) => ctx.approvers.isApprover(ctx.slack, u));
    if (access.kind === 'gone') {
      await ctx.notifier.tell(user, channel, say('That VM is no longer one the bot manages (deleted, or never finished); nothing was changed.'));
      return undefined;
    }
    if (access.kind === 'not_yours') {
      const name = escapeText(access.run.spec.vm.name);
      await ctx.notifier.tell(user, channel, say(`${name} belongs to <@${access.owner}>; only its owner or a lead may do that. Nothing was changed.`));
      return undefined;
    }
    return { run: access.run, user, channel, name: escapeText(access.run.spec.vm.name) };
  };

  for (const [actionId, action] of [
    [VM_ACTIONS.powerOn, 'on'],
    [VM_ACTIONS.powerOff, 'off'],
  ] as const) {
    app.action<BlockAction>(actionId, async ({ ack, body }) => {
      await ack();
      const t = await target(body);
      if (!t) return;
      try {
        const outcome = await ctx.vms.power(t.run, action, t.user);
        const text =
          outcome === 'already' ? `${t.name} is already ${action === 'on' ? 'running' : 'stopped'}; nothing was changed.` : `${t.name} is powered ${action}.`;
        await ctx.notifier.tell(t.user, t.channel, say(text));
      } catch (err) {
        if (!isBusy(err)) throw err;
        await ctx.notifier.tell(t.user, t.channel, say(`${t.name} is busy with another action; nothing more was changed.`));
      }
    });
  }

  app.action<BlockAction>(VM_ACTIONS.extend, async ({ ack, body }) => {
    await ack();
    const t = await target(body);
    if (!t) return;
    const outcome = await ctx.vms.extendByLease(t.run, t.user);
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
    ctx.homeTabs.vmChanged(t.run);
    const poweredOff = outcome.wasExpired ? ' It was powered off when its lease ended: power it on from `/vm-create mine`.' : '';
    await ctx.notifier.tell(t.user, t.channel, say(`${t.name} is kept until ${slackDate(outcome.endsAt)}.${poweredOff}`));
  });

  app.action<BlockAction>(VM_ACTIONS.delete, async ({ ack, body }) => {
    await ack();
    const t = await target(body);
    if (!t) return;
    let done;
    try {
      done = await ctx.vms.decommission(t.run, t.user);
    } catch (err) {
      if (!isBusy(err)) throw err;
      return ctx.notifier.tell(t.user, t.channel, say(`${t.name} is already being deleted; nothing more was changed.`));
    }
    if (done.state !== 'decommissioned')
      return ctx.notifier.tell(t.user, t.channel, say(`:warning: ${escapeText(done.error?.message ?? 'Deleting it failed.')}`));
    const owner = ownerOf(t.run);
    const keys = `VM key ${t.run.keys.vmKey}`;
    ctx.homeTabs.vmChanged(t.run);
    const line = `:wastebasket: *${t.name}* decommissioned by <@${t.user}> · ${keys} / machine key ${t.run.keys.machineKey} · owner <@${owner}>${t.run.requestId ? ` · ${t.run.requestId}` : ''}`;
    await Promise.all([
      ctx.notifier.post(ctx.auditChannel, say(line)),
      ctx.notifier.tell(t.user, t.channel, say(`Deleted ${t.name} (${keys}) with its drives, NICs and devices.`)),
      owner !== t.user ? ctx.notifier.dm(owner, say(`<@${t.user}> deleted your VM ${t.name} (${keys}).`)) : undefined,
    ]);
  });
}
