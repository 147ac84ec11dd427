/** Power on and Power off (graceful, then kill) on a VM the bot made; each runs once however often it is clicked. */
import { isBusy } from '../../../errors.js';
import type { BotContext } from '../../context.js';
import { say } from '../../views/messages.js';
import type { ActionArgs } from '../args.js';
import { vmTarget } from './vm-target.js';

export const powerOn = (args: ActionArgs, ctx: BotContext): Promise<void> => setPower(args, ctx, 'on');
export const powerOff = (args: ActionArgs, ctx: BotContext): Promise<void> => setPower(args, ctx, 'off');

async function setPower({ ack, body }: ActionArgs, ctx: BotContext, action: 'on' | 'off'): Promise<void> {
  await ack();
  const t = await vmTarget(body, ctx);
  if (!t) return;
  try {
    const outcome = await ctx.vms.power(t.vm, action, t.user);
    const text =
      outcome === 'already' ? `${t.name} is already ${action === 'on' ? 'running' : 'stopped'}; nothing was changed.` : `${t.name} is powered ${action}.`;
    await ctx.notifier.tell(t.user, t.channel, say(text));
  } catch (err) {
    if (!isBusy(err)) throw err;
    await ctx.notifier.tell(t.user, t.channel, say(`${t.name} is busy with another action; nothing more was changed.`));
  }
}
