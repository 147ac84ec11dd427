/** `/vm-create [RECIPE [NAME] | help | list | status REQ-n]`. The modal opens within Slack's 3 s. */
import type { App } from '@slack/bolt';
import { runResult } from '../../provision/result.js';
import type { BotContext } from '../context.js';
import { escapeText } from '../escape.js';
import { draftFromRecipe, metaFor, requestModal } from '../views/request-modal.js';
import { helpMessage, listMessage, statusMessage, unknownMessage } from '../views/other.js';

export const COMMAND = '/vm-create';

export function register(app: App, ctx: BotContext): void {
  app.command(COMMAND, async ({ command, ack, logger }) => {
    const [first = '', ...rest] = command.text.trim().split(/\s+/).filter(Boolean);
    const sub = first.toLowerCase();
    const ephemeral = (m: { text: string; blocks: unknown[] }) => ack({ response_type: 'ephemeral', text: m.text, blocks: m.blocks as never });

    if (sub === 'help') return ephemeral(helpMessage(ctx.recipes));
    if (sub === 'list') return ephemeral(listMessage(ctx.requests.byRequester(command.user_id)));
    if (sub === 'status') {
      const id = (rest[0] ?? '').toUpperCase();
      const request = /^REQ-\d+$/.test(id) ? ctx.requests.find(id) : undefined;
      if (!request) return ephemeral(unknownMessage(`There is no request ${escapeText(rest[0] ?? '(none given)')}. Try \`/vm-create list\`.`, ctx.recipes));
      const run = request.runId ? ctx.provisioner.runForRequest(request.id) : undefined;
      const result = run ? runResult(run) : undefined;
      return ephemeral(statusMessage(request, { keys: result?.vmKey ? `VM key ${result.vmKey}, machine key ${result.machineKey}` : undefined, error: run?.error?.message }));
    }
    const recipe = sub ? ctx.recipes.find((r) => r.id === sub) : undefined;
    if (sub && !recipe) return ephemeral(unknownMessage(`I don't know \`${escapeText(first)}\`.`, ctx.recipes));

    // Ack first (no VergeOS call on this path), then open the modal while the trigger is fresh.
    // Yielding once lets a burst of other commands be acked before this one's Web API work.
    await ack();
    await new Promise((resolve) => setImmediate(resolve));
    const draft = draftFromRecipe(recipe, rest[0], (source, value) => ctx.inventory.labelFor(source, value));
    try {
      await ctx.slack.views.open({ trigger_id: command.trigger_id, view: requestModal(draft, ctx.recipes, metaFor(draft, 0)) });
    } catch (err) {
      logger.warn(`views.open failed: ${(err as Error).message}`);
    }
  });
}
