/** An external select in the request form asking for its options: served from VergeOS through the inventory cache (within 3 s). */
import type { BotContext } from '../../context.js';
import type { OptionSource } from '../../views/request-modal.js';
import type { OptionsArgs } from '../args.js';

export async function serveOptions({ ack, body }: OptionsArgs, ctx: BotContext, source: OptionSource): Promise<void> {
  const groups = await ctx.inventory.options(source, body.value ?? '');
  const toOption = (o: { value: string; label: string }) => ({ text: { type: 'plain_text' as const, text: o.label.slice(0, 75) }, value: o.value });
  if (groups.length > 1)
    await ack({ option_groups: groups.map((g) => ({ label: { type: 'plain_text', text: g.label.slice(0, 75) }, options: g.options.map(toOption) })) });
  else await ack({ options: (groups[0]?.options ?? []).map(toOption) });
}
