/** Reject: checks who clicked, then opens the form that asks why (submitted in views/submit-rejection.ts). */
import { alreadyDecided, RequestError, requestSubject } from '../../../requests/requests.js';
import type { BotContext } from '../../context.js';
import { rejectModal, viewNotOpened } from '../../views/other.js';
import { say } from '../../views/messages.js';
import { noSuchRequest } from '../../visibility.js';
import { SlackApiError } from '../../web-api.js';
import type { ActionArgs } from '../args.js';
import { clicked, located, mayReject, refusal, sees } from '../decisions.js';

export async function rejectRequest({ ack, body }: ActionArgs, ctx: BotContext): Promise<void> {
  await ack();
  const { user, requestId, channel, messageTs } = clicked(body);
  const loaded = await ctx.requests.load(requestId);
  if (!loaded || !(await sees(ctx, loaded, user, channel, messageTs))) return ctx.notifier.tell(user, channel, say(noSuchRequest(requestId)));
  const request = await located(ctx, loaded, channel, messageTs);
  if (!(await mayReject(ctx, request, user, channel))) return;
  if (request.state !== 'pending') return refusal(ctx, new RequestError('REQUEST_ALREADY_DECIDED', alreadyDecided(request), request), user, channel);
  try {
    await ctx.slack.views.open({ trigger_id: body.trigger_id, view: rejectModal(request.id, requestSubject(request)) });
  } catch (err) {
    ctx.logger.warn({ requestId, err: (err as Error).message }, 'views.open of the rejection form failed');
    await ctx.notifier.tell(user, channel, viewNotOpened('the rejection form', err instanceof SlackApiError ? err.error : undefined));
  }
}
