/**
 * "Another like this" on a VM: its owner or a lead opens the form asking the copy's name (offered
 * `<name>-copy`); submitted in clone-submit.ts. Anyone else is told the VM is not theirs.
 */
import type { BotContext } from '../../context.js';
import { cloneModal, clonedRunId } from '../../views/clone-modal.js';
import { viewNotOpened } from '../../views/other.js';
import { SlackApiError } from '../../web-api.js';
import type { ActionArgs } from '../args.js';
import { vmFor } from './vm-target.js';

export async function openCloneForm({ ack, body }: ActionArgs, ctx: BotContext): Promise<void> {
  await ack();
  const action = body.actions[0];
  // The button carries the run id; a menu's option (overflow or select) `clone:<runId>`.
  const value =
    action?.type === 'button' ? action.value : action?.type === 'overflow' || action?.type === 'static_select' ? action.selected_option?.value : undefined;
  const runId = clonedRunId(value);
  if (runId) await openCloneFormFor(runId, body, ctx);
}

/** The form for a copy of the VM of `runId`, for whoever clicked (after the click was acknowledged). */
export async function openCloneFormFor(runId: string, body: ActionArgs['body'], ctx: BotContext): Promise<void> {
  const t = await vmFor(runId, body.user.id, body.channel?.id, ctx);
  if (!t) return;
  try {
    await ctx.afterAck.run(() =>
      ctx.slack.views.open({ trigger_id: body.trigger_id, view: cloneModal(t.vm, { runId: t.vm.runId, ...(t.channel ? { channel: t.channel } : {}) }) }),
    );
  } catch (err) {
    ctx.logger.warn({ runId, err: (err as Error).message }, 'views.open of the clone form failed');
    await ctx.notifier.tell(t.user, t.channel, viewNotOpened(`the form for another ${t.name}`, err instanceof SlackApiError ? err.error : undefined));
  }
}
