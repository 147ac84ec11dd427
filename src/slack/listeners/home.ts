/** App Home: your requests, and for leads the pending approvals with buttons. */
import type { App } from '@slack/bolt';
import type { BotContext } from '../context.js';
import { homeView } from '../views/other.js';

export function register(app: App, ctx: BotContext): void {
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home') return;
    const isLead = await ctx.approvers.isApprover(ctx.slack, event.user);
    await ctx.slack.views.publish({ user_id: event.user, view: homeView(event.user, ctx.requests.byRequester(event.user), isLead ? ctx.requests.pending() : undefined) });
  });
}
