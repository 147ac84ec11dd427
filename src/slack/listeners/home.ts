/** App Home: your requests, and for leads the pending approvals with buttons. */
import type { App } from '@slack/bolt';
import type { BotContext } from '../context.js';

export function register(app: App, ctx: BotContext): void {
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab === 'home') await ctx.homeTabs.opened(event.user);
  });
}
