/** Form submissions, by callback_id: the request form, the rejection form and the forms that change a VM. */
import type { App, ViewSubmitAction } from '@slack/bolt';
import type { BotContext } from '../../context.js';
import { REJECT_MODAL_CALLBACK } from '../../views/other.js';
import { REQUEST_MODAL_CALLBACK } from '../../views/request-modal.js';
import { CHANGE_FORM_CALLBACKS } from '../../views/vm-change-forms.js';
import { CLONE_MODAL_CALLBACK } from '../../views/clone-modal.js';
import { submitClone } from '../actions/clone-submit.js';
import { submitRejection } from './submit-rejection.js';
import { submitRequest } from './submit-request.js';
import { submitVmChange } from './submit-vm-change.js';

export function register(app: App, ctx: BotContext): void {
  app.view<ViewSubmitAction>(REQUEST_MODAL_CALLBACK, (args) => submitRequest(args, ctx));
  app.view<ViewSubmitAction>(REJECT_MODAL_CALLBACK, (args) => submitRejection(args, ctx));
  app.view<ViewSubmitAction>(CLONE_MODAL_CALLBACK, (args) => submitClone(args, ctx));
  for (const callbackId of CHANGE_FORM_CALLBACKS) app.view<ViewSubmitAction>(callbackId, (args) => submitVmChange(args, ctx));
}
