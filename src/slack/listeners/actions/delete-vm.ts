/** Delete (decommission) a VM the bot made: with its drives, NICs and devices, once; audited, and its owner told. */
import { isBusy } from '../../../errors.js';
import type { BotContext } from '../../context.js';
import { escapeText } from '../../escape.js';
import { say } from '../../views/messages.js';
import type { ActionArgs } from '../args.js';
import { vmTarget } from './vm-target.js';

export async function deleteVm({ ack, body }: ActionArgs, ctx: BotContext): Promise<void> {
  await ack();
  const t = await vmTarget(body, ctx);
  if (!t) return;
  let done;
  try {
    done = await ctx.vms.decommission(t.vm, t.user);
  } catch (err) {
    if (!isBusy(err)) throw err;
    return ctx.notifier.tell(t.user, t.channel, say(`${t.name} is already being deleted; nothing more was changed.`));
  }
  if (done.state !== 'decommissioned')
    return ctx.notifier.tell(t.user, t.channel, say(`:warning: ${escapeText(done.error?.message ?? 'Deleting it failed.')}`));
  const owner = t.vm.owner;
  const keys = `VM key ${t.vm.keys.vmKey}`;
  ctx.homeTabs.vmChanged(t.vm);
  const line = `:wastebasket: *${t.name}* decommissioned by <@${t.user}> · ${keys} / machine key ${t.vm.keys.machineKey} · owner <@${owner}>${t.vm.requestId ? ` · ${t.vm.requestId}` : ''}`;
  await Promise.all([
    ctx.notifier.post(ctx.auditChannel, say(line)),
    ctx.notifier.tell(t.user, t.channel, say(`Deleted ${t.name} (${keys}) with its drives, NICs and devices.`)),
    owner !== t.user ? ctx.notifier.dm(owner, say(`<@${t.user}> deleted your VM ${t.name} (${keys}).`)) : undefined,
  ]);
}
