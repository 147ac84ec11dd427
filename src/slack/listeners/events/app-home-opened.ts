/** App Home opened: your requests, and for leads the pending approvals with buttons. */
import type { BotContext } from '../../context.js';
import type { AppHomeOpenedArgs } from '../args.js';

export async function appHomeOpened({ event }: AppHomeOpenedArgs, ctx: BotContext): Promise<void> {
  if (event.tab === 'home') await ctx.homeTabs.opened(event.user);
}
