/**
 * The request form as `/vm-create [RECIPE [NAME]]` opens it. It depends only on the recipe, the
 * name typed, the quota note and the cached labels: render it once per such combination (bursts
 * of the same command are common), keeping the last 64.
 */
import type { Recipe } from '../../../vmspec/recipes.js';
import type { BotContext } from '../../context.js';
import { draftFromRecipe, metaFor, requestModal } from '../../views/request-modal.js';
import { RawJson } from '../../web-api.js';

export type OpeningModal = (recipe: Recipe | undefined, name: string | undefined, quota: string | undefined) => RawJson;

export function openingModals(ctx: BotContext): OpeningModal {
  const rendered = new Map<string, RawJson>();
  return (recipe, name, quota) => {
    const key = `${ctx.inventory.version}|${recipe?.id ?? ''}|${name ?? ''}|${quota ?? ''}`;
    let view = rendered.get(key);
    if (!view) {
      const draft = draftFromRecipe(recipe, name, (source, value) => ctx.inventory.labelFor(source, value));
      view = new RawJson(JSON.stringify(requestModal(draft, ctx.recipes, { ...metaFor(draft, 0), ...(quota ? { q: quota } : {}) }, ctx.env.VM_BATCH_MAX)));
      if (rendered.size >= 64) rendered.delete(rendered.keys().next().value!);
      rendered.set(key, view);
    }
    return view;
  };
}
