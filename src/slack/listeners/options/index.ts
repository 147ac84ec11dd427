/** The request form's external selects, one listener per source. */
import type { App } from '@slack/bolt';
import type { BotContext } from '../../context.js';
import { OPTION_SOURCES } from '../../views/request-modal.js';
import { serveOptions } from './external-select.js';

export function register(app: App, ctx: BotContext): void {
  for (const source of OPTION_SOURCES) app.options(source, (args) => serveOptions(args, ctx, source));
}
