/**
 * Redrawing the open request form after a click in it (recipe picked, row added or removed,
 * device picked): read the form as the user left it, apply the change, views.update.
 */
import type { BlockAction } from '@slack/bolt';
import type { BotContext } from '../../context.js';
import { draftFromState, metaFor, requestModal, type ModalDraft, type ModalMeta } from '../../views/request-modal.js';

/** The changed form and its block-id generation; undefined leaves the form as it is. */
export type FormChange = (draft: ModalDraft, meta: ModalMeta) => { draft: ModalDraft; generation: number } | undefined;

export async function updateRequestForm(ctx: BotContext, body: BlockAction, change: FormChange): Promise<void> {
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
}
