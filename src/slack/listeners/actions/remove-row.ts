/** Remove on a row of one of the request form's repeatable groups: the button's value names the row. */
import type { BotContext } from '../../context.js';
import { withRowChanged, type ROW_ACTIONS } from '../../views/request-modal.js';
import type { ActionArgs } from '../args.js';
import { updateRequestForm } from './request-form-update.js';

export async function removeRow({ ack, body }: ActionArgs, ctx: BotContext, kind: (typeof ROW_ACTIONS)[number]['kind']): Promise<void> {
  await ack();
  const value = body.actions[0]?.type === 'button' ? body.actions[0].value : undefined;
  await updateRequestForm(ctx, body, (draft, meta) => ({ draft: withRowChanged(draft, kind, { removed: value ?? '' }), generation: meta.g }));
}
