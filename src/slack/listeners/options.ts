/** External selects in the modal, served from VergeOS through the inventory cache (within 3 s). */
import type { App } from '@slack/bolt';
import type { BotContext } from '../context.js';
import { OPTION_SOURCES } from '../views/request-modal.js';

export function register(app: App, ctx: BotContext): void {
  for (const source of OPTION_SOURCES) {
    app.options(source, async ({ ack, body }) => {
      const groups = await ctx.inventory.options(source, body.value ?? '');
      const toOption = (o: { value: string; label: string }) => ({ text: { type: 'plain_text' as const, text: o.label.slice(0, 75) }, value: o.value });
      if (groups.length > 1)
        await ack({ option_groups: groups.map((g) => ({ label: { type: 'plain_text', text: g.label.slice(0, 75) }, options: g.options.map(toOption) })) });
      else await ack({ options: (groups[0]?.options ?? []).map(toOption) });
    });
  }
}
