/** Add in one of the request form's repeatable groups (drives, NICs, devices …): a row with the group's defaults, within its limit. */
import type { BotContext } from '../../context.js';
import { canAdd, withRowChanged, type ROW_ACTIONS } from '../../views/request-modal.js';
import type { ActionArgs } from '../args.js';
import { updateRequestForm } from './request-form-update.js';

export async function addRow({ ack, body }: ActionArgs, ctx: BotContext, kind: (typeof ROW_ACTIONS)[number]['kind']): Promise<void> {
  await ack();
  await updateRequestForm(ctx, body, (draft, meta) =>
    canAdd(meta, kind) ? { draft: withRowChanged(draft, kind, { added: meta.next }), generation: meta.g } : undefined,
  );
}
