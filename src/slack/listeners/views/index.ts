/** Form submissions, by callback_id: the request form and the rejection form. */
import type { App, ViewSubmitAction } from '@slack/bolt';
import type { BotContext } from '../../context.js';
import { REJECT_MODAL_CALLBACK } from '../../views/other.js';
import { REQUEST_MODAL_CALLBACK } from '../../views/request-modal.js';
import { submitRejection } from './submit-rejection.js';
import { submitRequest } from './submit-request.js';

export function register(app: App, ctx: BotContext): void {
  app.view<ViewSubmitAction>(REQUEST_MODAL_CALLBACK, (args) => submitRequest(args, ctx));
  app.view<ViewSubmitAction>(REJECT_MODAL_CALLBACK, (args) => submitRejection(args, ctx));
}
