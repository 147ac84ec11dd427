/** The slash command. */
import type { App } from '@slack/bolt';
import type { BotContext } from '../../context.js';
import { COMMAND, vmCreate } from './vm-create.js';

export function register(app: App, ctx: BotContext): void {
  app.command(COMMAND, vmCreate(ctx));
}
