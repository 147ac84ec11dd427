/** A device picked in the request form: a vGPU pool shows its settings, anything else hides them. */
import type { BotContext } from '../../context.js';
import { withVgpuRows } from '../../views/request-modal.js';
import type { ActionArgs } from '../args.js';
import { updateRequestForm } from './request-form-update.js';

/** The device select's action id. */
export const DEVICE_PICK = 'resource_group';

export async function pickDevice({ ack, body }: ActionArgs, ctx: BotContext): Promise<void> {
  await ack();
  await updateRequestForm(ctx, body, (draft, meta) => ({ draft: withVgpuRows(draft, (uuid) => ctx.inventory.isVgpuGroup(uuid)), generation: meta.g }));
}
