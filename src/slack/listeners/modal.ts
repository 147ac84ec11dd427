/** The request modal: row add/remove and recipe prefill (views.update), and submission. */
import type { App, BlockAction, ViewSubmitAction } from '@slack/bolt';
import { expandNames, parseSpec } from '../../vmspec/validate.js';
import type { Recipe } from '../../vmspec/recipes.js';
import type { BotContext } from '../context.js';
import type { GateVerdict } from '../requesters.js';
import { announceFiled } from '../announce.js';
import {
  ACTIONS,
  blockForPath,
  canAdd,
  draftFromRecipe,
  draftFromState,
  metaFor,
  REQUEST_MODAL_CALLBACK,
  requestModal,
  specInputFromDraft,
  keepForChoices,
  KEEP_FOR,
  ROW_ACTIONS,
  withRowChanged,
  withVgpuRows,
  type ModalDraft,
  type ModalMeta,
} from '../views/request-modal.js';

export function register(app: App, ctx: BotContext): void {
  const rebuild = async (body: BlockAction, change: (draft: ModalDraft, meta: ModalMeta) => { draft: ModalDraft; generation: number } | undefined) => {
    const view = body.view;
    if (!view) return;
    const meta = JSON.parse(view.private_metadata) as ModalMeta;
    const current = draftFromState(view.state.values, meta);
    const next = change(current, meta);
    if (!next) return;
    try {
      await ctx.slack.views.update({
        view_id: view.id,
        hash: view.hash,
        view: requestModal(
          next.draft,
          ctx.recipes,
          { ...metaFor(next.draft, next.generation), next: Math.max(meta.next, metaFor(next.draft, next.generation).next), ...(meta.q ? { q: meta.q } : {}) },
          ctx.env.VM_BATCH_MAX,
        ),
      });
    } catch (err) {
      // hash_conflict: the user changed the form meanwhile; their next click rebuilds it.
      ctx.logger.warn({ err: (err as Error).message }, 'views.update of the request modal failed');
    }
  };

  app.action<BlockAction>(ACTIONS.recipePick, async ({ ack, body }) => {
    await ack();
    const picked = body.actions[0]?.type === 'static_select' ? body.actions[0].selected_option?.value : undefined;
    const recipe = ctx.recipes.find((r) => r.id === picked);
    // A new generation of block ids, so Slack shows the recipe's values instead of keeping old ones.
    await rebuild(body, (current, meta) => ({
      draft: { ...draftFromRecipe(recipe, current.name, (s, v) => ctx.inventory.labelFor(s, v)), recipe: recipe?.id },
      generation: meta.g + 1,
    }));
  });

  // Add and Remove for each repeatable group; a new row gets its group's defaults.
  for (const { kind, add, remove } of ROW_ACTIONS) {
    app.action<BlockAction>(add, async ({ ack, body }) => {
      await ack();
      await rebuild(body, (draft, meta) => (canAdd(meta, kind) ? { draft: withRowChanged(draft, kind, { added: meta.next }), generation: meta.g } : undefined));
    });
    app.action<BlockAction>(remove, async ({ ack, body }) => {
      await ack();
      const value = body.actions[0]?.type === 'button' ? body.actions[0].value : undefined;
      await rebuild(body, (draft, meta) => ({ draft: withRowChanged(draft, kind, { removed: value ?? '' }), generation: meta.g }));
    });
  }
  // Picking a device: a vGPU pool shows its settings, anything else hides them.
  app.action<BlockAction>('resource_group', async ({ ack, body }) => {
    await ack();
    await rebuild(body, (draft, meta) => ({ draft: withVgpuRows(draft, (uuid) => ctx.inventory.isVgpuGroup(uuid)), generation: meta.g }));
  });

  app.view<ViewSubmitAction>(REQUEST_MODAL_CALLBACK, async ({ ack, body, view, context }) => {
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
      return fieldErrors([
        { path: 'count', message: `at most ${ctx.env.VM_BATCH_MAX} VMs in one request; ask a lead for more, or use the vmbot command line` },
      ]);
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
  });
}

/** The lease the form asks for: the choice (or the recipe's default), with the recipe's maximum. */
function leaseFrom(keepFor: string | undefined, recipe: Recipe | undefined): { forMs: number; maxMs?: number } | undefined {
  const choice = KEEP_FOR.find((c) => c.value === (keepFor ?? keepForChoices(recipe).initial));
  if (!choice?.ms) return undefined;
  return { forMs: choice.ms, ...(recipe?.lease?.maxMs ? { maxMs: recipe.lease.maxMs } : {}) };
}
