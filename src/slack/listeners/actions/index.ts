/** Every button and select: the request form's, the decisions on a request, and the day-2 buttons on a VM. */
import type { App, BlockAction } from '@slack/bolt';
import type { BotContext } from '../../context.js';
import { APPROVAL_ACTIONS } from '../../views/messages.js';
import { ACTIONS, ROW_ACTIONS } from '../../views/request-modal.js';
import { VM_ACTIONS } from '../../views/vms.js';
import { addRow } from './add-row.js';
import { approveRequest } from './approve-request.js';
import { cancelRequest } from './cancel-request.js';
import { deletePartialVms } from './delete-partial-vms.js';
import { deleteVm } from './delete-vm.js';
import { extendVm } from './extend-vm.js';
import { DEVICE_PICK, pickDevice } from './pick-device.js';
import { pickRecipe } from './pick-recipe.js';
import { rejectRequest } from './reject-request.js';
import { removeRow } from './remove-row.js';
import { retryRequest } from './retry-request.js';
import { openCloneForm } from './clone-vm.js';
import { openChangeForm } from './vm-more.js';
import { powerOff, powerOn } from './vm-power.js';
import { VM_MORE } from '../../views/vm-change-forms.js';
import { CLONE_VM_ACTION } from '../../views/clone-modal.js';

export function register(app: App, ctx: BotContext): void {
  // The request form.
  app.action<BlockAction>(ACTIONS.recipePick, (args) => pickRecipe(args, ctx));
  for (const { kind, add, remove } of ROW_ACTIONS) {
    app.action<BlockAction>(add, (args) => addRow(args, ctx, kind));
    app.action<BlockAction>(remove, (args) => removeRow(args, ctx, kind));
  }
  app.action<BlockAction>(DEVICE_PICK, (args) => pickDevice(args, ctx));
  // Decisions on a request.
  app.action<BlockAction>(APPROVAL_ACTIONS.approve, (args) => approveRequest(args, ctx));
  app.action<BlockAction>(APPROVAL_ACTIONS.reject, (args) => rejectRequest(args, ctx));
  app.action<BlockAction>(APPROVAL_ACTIONS.cancel, (args) => cancelRequest(args, ctx));
  app.action<BlockAction>(APPROVAL_ACTIONS.retry, (args) => retryRequest(args, ctx));
  app.action<BlockAction>(APPROVAL_ACTIONS.cleanup, (args) => deletePartialVms(args, ctx));
  // Day-2 buttons on a VM the bot made.
  app.action<BlockAction>(VM_ACTIONS.powerOn, (args) => powerOn(args, ctx));
  app.action<BlockAction>(VM_ACTIONS.powerOff, (args) => powerOff(args, ctx));
  app.action<BlockAction>(VM_ACTIONS.extend, (args) => extendVm(args, ctx));
  app.action<BlockAction>(VM_ACTIONS.delete, (args) => deleteVm(args, ctx));
  app.action<BlockAction>(VM_MORE, (args) => openChangeForm(args, ctx));
  app.action<BlockAction>(CLONE_VM_ACTION, (args) => openCloneForm(args, ctx));
}
