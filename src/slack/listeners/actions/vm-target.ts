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
  const runId = body.actions[0]?.type === 'button' ? (body.actions[0].value ?? '') : '';
  return vmFor(runId, body.user.id, body.channel?.id, ctx);
}

/** The VM of run `runId`, if `user` may act on it; else they are told why (in `channel`, or a DM) and nothing else happens. */
export async function vmFor(runId: string, user: string, channel: string | undefined, ctx: BotContext): Promise<VmTarget | undefined> {
  const access = await ctx.vms.access(runId, user, (u) => ctx.approvers.isApprover(ctx.slack, u));
  if (access.kind === 'gone') {
    await ctx.notifier.tell(user, channel, say(GONE));
    return undefined;
  }
  if (access.kind === 'not_yours') {
    await ctx.notifier.tell(user, channel, say(notYours(access.vm.name, access.owner)));
    return undefined;
  }
  return { vm: access.vm, user, channel, name: escapeText(access.vm.name) };
}

export const GONE = 'That VM is no longer one the bot manages (deleted, or never finished); nothing was changed.';

/** The refusal to someone who neither owns the VM nor leads. */
export function notYours(vmName: string, owner: string): string {
  return `${escapeText(vmName)} belongs to <@${owner}>; only its owner or a lead may do that. Nothing was changed.`;
}
