/**
 * The VM a day-2 button names, if the clicker may act on it: its owner or a lead (the core's
 * `vms.access`). Anyone else, or a VM the bot no longer manages, is told so and gets nothing.
 */
import type { BlockAction } from '@slack/bolt';
import type { VmRecord } from '../../../store/records.js';
import type { BotContext } from '../../context.js';
import { escapeText } from '../../escape.js';
import { say } from '../../views/messages.js';

export interface VmTarget {
  vm: VmRecord;
  user: string;
  channel: string | undefined;
  /** The VM's name, escaped for mrkdwn. */
  name: string;
}

export async function vmTarget(body: BlockAction, ctx: BotContext): Promise<VmTarget | undefined> {
  const user = body.user.id;
  const channel = body.channel?.id;
  const runId = body.actions[0]?.type === 'button' ? (body.actions[0].value ?? '') : '';
  const access = await ctx.vms.access(runId, user, (u) => ctx.approvers.isApprover(ctx.slack, u));
  if (access.kind === 'gone') {
    await ctx.notifier.tell(user, channel, say('That VM is no longer one the bot manages (deleted, or never finished); nothing was changed.'));
    return undefined;
  }
  if (access.kind === 'not_yours') {
    const name = escapeText(access.vm.name);
    await ctx.notifier.tell(user, channel, say(`${name} belongs to <@${access.owner}>; only its owner or a lead may do that. Nothing was changed.`));
    return undefined;
  }
  return { vm: access.vm, user, channel, name: escapeText(access.vm.name) };
}
