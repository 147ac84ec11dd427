/**
 * The request form's submission: the form's own checks (keep-for choice, count, names, spec)
 * answered on its fields; limits, pre-flight, policy, lease and the name reservation are the
 * core's filing workflow (`ctx.filing`). Filed, the request is announced.
 */
import type { Recipe } from '../../../vmspec/recipes.js';
import { expandNames, parseSpec } from '../../../vmspec/validate.js';
import { announceFiled } from '../../announce.js';
import type { BotContext } from '../../context.js';
import type { GateVerdict } from '../../requesters.js';
import { blockForPath, draftFromState, KEEP_FOR, keepForChoices, specInputFromDraft, type ModalMeta } from '../../views/request-modal.js';
import type { SubmissionArgs } from '../args.js';

export async function submitRequest({ ack, body, view, context }: SubmissionArgs, ctx: BotContext): Promise<void> {
  const meta = JSON.parse(view.private_metadata) as ModalMeta;
  const draft = draftFromState(view.state.values, meta);
  const recipe = ctx.recipes.find((r) => r.id === draft.recipe);
  const count = draft.count ?? 1;
  const keep = keepForChoices(recipe);
  if (draft.keepFor && !keep.choices.some((c) => c.value === draft.keepFor)) {
    return ack({
      response_action: 'errors',
      errors: {
        [blockForPath('keep_for', meta)]:
          `the ${recipe?.title ?? ''} recipe keeps VMs at most ${keep.choices.filter((c) => c.ms !== undefined).at(-1)?.label ?? 'a while'}`,
      },
    });
  }
  const fieldErrors = (errors: Array<{ path: string; message: string }>) => {
    const byBlock: Record<string, string> = {};
    for (const e of errors) {
      const block = blockForPath(e.path, meta);
      byBlock[block] = byBlock[block] ? `${byBlock[block]}; ${e.message}` : e.message;
    }
    return ack({ response_action: 'errors', errors: byBlock });
  };
  const requester = context.requester as GateVerdict | undefined;
  if (count > ctx.env.VM_BATCH_MAX)
    return fieldErrors([{ path: 'count', message: `at most ${ctx.env.VM_BATCH_MAX} VMs in one request; ask a lead for more, or use the vmbot command line` }]);
  const names = expandNames(draft.name ?? '', count);
  // Checked with the first name; the batch's other VMs differ only in name.
  const parsed = parseSpec(specInputFromDraft({ ...draft, name: names.ok ? names.value[0] : draft.name }, recipe));
  // A name the pattern check refused is said once, in its words.
  const nameErrors = names.ok || !draft.name ? [] : names.errors;
  const specErrors = parsed.ok ? [] : parsed.errors.filter((e) => !(nameErrors.length && e.path === 'vm.name'));
  const errors = [...nameErrors, ...specErrors];
  if (errors.length || !parsed.ok || !names.ok) return fieldErrors(errors);
  // Limits, pre-flight, policy, lease and the name reservation: the core's filing workflow.
  const outcome = await ctx.filing.file({
    requester: body.user.id,
    unlimited: requester?.ok === true && requester.lead,
    recipe,
    specs: names.value.map((name) => ({ ...parsed.value, vm: { ...parsed.value.vm, name } })),
    batch: count > 1 ? { count, pattern: draft.name!.trim() } : undefined,
    lease: leaseFrom(draft.keepFor, recipe),
    sourceViewId: view.id,
  });
  if (outcome.kind === 'refused') return fieldErrors(outcome.errors);
  await ack();
  if (!outcome.created) return; // a retried delivery of a submission already filed
  await announceFiled(ctx, outcome.request, outcome.waitingWhy);
}

/** The lease the form asks for: the choice (or the recipe's default), with the recipe's maximum. */
function leaseFrom(keepFor: string | undefined, recipe: Recipe | undefined): { forMs: number; maxMs?: number } | undefined {
  const choice = KEEP_FOR.find((c) => c.value === (keepFor ?? keepForChoices(recipe).initial));
  if (!choice?.ms) return undefined;
  return { forMs: choice.ms, ...(recipe?.lease?.maxMs ? { maxMs: recipe.lease.maxMs } : {}) };
}
