/** A recipe picked in the request form: the form refills with the recipe's values. */
import type { BotContext } from '../../context.js';
import { draftFromRecipe } from '../../views/request-modal.js';
import type { ActionArgs } from '../args.js';
import { updateRequestForm } from './request-form-update.js';

export async function pickRecipe({ ack, body }: ActionArgs, ctx: BotContext): Promise<void> {
  await ack();
  const picked = body.actions[0]?.type === 'static_select' ? body.actions[0].selected_option?.value : undefined;
  const recipe = ctx.recipes.find((r) => r.id === picked);
  // A new generation of block ids, so Slack shows the recipe's values instead of keeping old ones.
  await updateRequestForm(ctx, body, (current, meta) => ({
    draft: { ...draftFromRecipe(recipe, current.name, (s, v) => ctx.inventory.labelFor(s, v)), recipe: recipe?.id },
    generation: meta.g + 1,
  }));
}
