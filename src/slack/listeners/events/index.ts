/** Events: App Home opened. */
import type { App } from '@slack/bolt';
import type { BotContext } from '../../context.js';
import { appHomeOpened } from './app-home-opened.js';

export function register(app: App, ctx: BotContext): void {
  app.event('app_home_opened', (args) => appHomeOpened(args, ctx));
}
