/**
 * Day-2 actions on the VMs the bot made: Power on, Power off (graceful, then kill) and Delete
 * (decommission). Owners act on their own VMs, leads on any; checked on the server at every
 * click. Each action is audited and runs once however often it is clicked.
 */
import type { App, BlockAction } from '@slack/bolt';
import { RunBusyError } from '../../provision/provisioner.js';
import { StoreError } from '../../store/store.js';
import type { BotContext } from '../context.js';
import { escapeText, slackDate } from '../escape.js';
import { approvalRequest, say } from '../views/messages.js';
import { VM_ACTIONS } from '../views/vms.js';

export function register(app: App, ctx: BotContext): void {
  /** The VM a button names, if `user` may act on it (told otherwise). */
  const target = async (body: BlockAction) => {
    const user = body.user.id;
    const channel = body.channel?.id;
    const runId = body.actions[0]?.type === 'button' ? (body.actions[0].value ?? '') : '';
    const run = ctx.provisioner.ownedVm(runId);
    if (!run) {
      await ctx.notifier.tell(user, channel, say('That VM is no longer one the bot manages (deleted, or never finished); nothing was changed.'));
      return undefined;
    }
    const owner = run.owner ?? run.actor;
    if (owner !== user && !(await ctx.approvers.isApprover(ctx.slack, user))) {
      await ctx.notifier.tell(
        user,
        channel,
        say(`${escapeText(run.spec.vm.name)} belongs to <@${owner}>; only its owner or a lead may do that. Nothing was changed.`),
      );
      return undefined;
    }
    return { run, user, channel };
  };

  const busy = (err: unknown) => err instanceof RunBusyError || (err instanceof StoreError && err.code === 'STORE_CONFLICT');

  for (const [actionId, action] of [
    [VM_ACTIONS.powerOn, 'on'],
    [VM_ACTIONS.powerOff, 'off'],
  ] as const) {
    app.action<BlockAction>(actionId, async ({ ack, body }) => {
      await ack();
      const t = await target(body);
      if (!t) return;
      const name = escapeText(t.run.spec.vm.name);
      try {
        const outcome = await ctx.provisioner.power(t.run.id, action, t.user);
        await ctx.notifier.tell(
          t.user,
          t.channel,
          say(outcome === 'already' ? `${name} is already ${action === 'on' ? 'running' : 'stopped'}; nothing was changed.` : `${name} is powered ${action}.`),
        );
      } catch (err) {
        if (!busy(err)) throw err;
        await ctx.notifier.tell(t.user, t.channel, say(`${name} is busy with another action; nothing more was changed.`));
      }
    });
  }

  app.action<BlockAction>(VM_ACTIONS.extend, async ({ ack, body }) => {
    await ack();
    const t = await target(body);
    if (!t) return;
    const name = escapeText(t.run.spec.vm.name);
    const lease = t.run.lease;
    if (!lease?.endsAt) return ctx.notifier.tell(t.user, t.channel, say(`${name} has no lease to extend; it is kept until deleted.`));
    // By its lease period, from its current end (or from now, once ended).
    const until = new Date(Math.max(ctx.leases.now(), Date.parse(lease.endsAt)) + lease.forMs);
    const outcome = await ctx.leases.extend(t.run.id, until, t.user);
    if (!outcome.ok && outcome.code === 'beyond_max') {
      // Longer than the maximum: a request like any other, for a lead to approve.
      const { request, created } = await ctx.requests.create({
        requester: t.user,
        spec: t.run.spec,
        extension: { runId: t.run.id, until: until.toISOString() },
        warnings: [],
        sourceViewId: `extend:${t.run.id}:${until.toISOString()}`,
      });
      if (!created)
        return ctx.notifier.tell(t.user, t.channel, say(`${request.id} already asks to keep ${name} until ${slackDate(request.extension!.until)}.`));
      const posted = await ctx.notifier.post(ctx.approvalChannel, approvalRequest(request));
      if (posted) await ctx.requests.attachApprovalMessage(request.id, posted, await ctx.notifier.permalink(posted));
      return ctx.notifier.tell(
        t.user,
        t.channel,
        say(
          `Keeping ${name} until ${slackDate(until.toISOString())} is beyond the most its lease allows, so ${request.id} asks a lead to approve it. You will hear when it is decided.`,
        ),
      );
    }
    if (!outcome.ok) return ctx.notifier.tell(t.user, t.channel, say(`${name}: ${escapeText(outcome.reason)}. Nothing was changed.`));
    ctx.homeTabs.vmChanged(t.run);
    await ctx.notifier.tell(
      t.user,
      t.channel,
      say(
        `${name} is kept until ${slackDate(outcome.endsAt)}.${lease.expiredAt ? ' It was powered off when its lease ended: power it on from `/vm-create mine`.' : ''}`,
      ),
    );
  });

  app.action<BlockAction>(VM_ACTIONS.delete, async ({ ack, body }) => {
    await ack();
    const t = await target(body);
    if (!t) return;
    const name = escapeText(t.run.spec.vm.name);
    let done;
    try {
      done = await ctx.provisioner.decommission(t.run.id, t.user);
    } catch (err) {
      if (!busy(err)) throw err;
      return ctx.notifier.tell(t.user, t.channel, say(`${name} is already being deleted; nothing more was changed.`));
    }
    if (done.state !== 'decommissioned')
      return ctx.notifier.tell(t.user, t.channel, say(`:warning: ${escapeText(done.error?.message ?? 'Deleting it failed.')}`));
    const owner = t.run.owner ?? t.run.actor;
    ctx.homeTabs.vmChanged(t.run);
    const line = `:wastebasket: *${name}* decommissioned by <@${t.user}> · VM key ${t.run.keys.vmKey} / machine key ${t.run.keys.machineKey} · owner <@${owner}>${t.run.requestId ? ` · ${t.run.requestId}` : ''}`;
    await Promise.all([
      ctx.notifier.post(ctx.auditChannel, say(line)),
      ctx.notifier.tell(t.user, t.channel, say(`Deleted ${name} (VM key ${t.run.keys.vmKey}) with its drives, NICs and devices.`)),
      owner !== t.user ? ctx.notifier.dm(owner, say(`<@${t.user}> deleted your VM ${name} (VM key ${t.run.keys.vmKey}).`)) : undefined,
    ]);
  });
}
