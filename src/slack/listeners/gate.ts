/**
 * The requester check at every entry point a requester uses — the command, the modal's options,
 * its actions and its submission, the VM buttons, App Home — before any listener runs. The refused
 * get one plain sentence and nothing else (no recipe, inventory or request detail), and each
 * refusal is audit-logged. Leads' decisions (approve, reject, retry, clean up) are checked where
 * they are handled, not here. A form's submission is routed by its callback_id to what that form
 * declared (FORMS); a form not listed is checked as a requester's, never read as the request form.
 */
import type { AllMiddlewareArgs, AnyMiddlewareArgs, App } from '@slack/bolt';
import type { BotContext } from '../context.js';
import { APPROVAL_ACTIONS, say } from '../views/messages.js';
import type { FormGate } from '../views/form-gate.js';
import { REJECT_FORM_GATE } from '../views/other.js';
import { REQUEST_FORM_GATE } from '../views/request-modal.js';
import { CHANGE_FORM_GATES } from '../views/vm-change-read.js';
import { CLONE_FORM_GATE } from '../views/clone-modal.js';

type Entry = 'command' | 'options' | 'modal_action' | 'submission' | 'button' | 'app_home';

interface Caller {
  user: string;
  team?: string | undefined;
  enterprise?: string | undefined;
  entry: Entry;
  /** For a submission: what its form declared, if it is listed. */
  form?: FormGate | undefined;
}

/** Every form the bot opens, by callback_id: what the gate checks before its listener runs. */
const FORMS: ReadonlyMap<string, FormGate> = new Map(
  [REQUEST_FORM_GATE, REJECT_FORM_GATE, CLONE_FORM_GATE, ...CHANGE_FORM_GATES].map((form) => [form.callbackId, form]),
);

const DECISIONS: ReadonlySet<string> = new Set(Object.values(APPROVAL_ACTIONS));

type Body = Record<string, unknown> & {
  type?: string;
  user?: { id?: string; team_id?: string };
  user_id?: string;
  command?: string;
  enterprise?: { id?: string } | null;
  view?: { callback_id?: string; type?: string; private_metadata?: string };
  actions?: Array<{ action_id?: string }>;
  event?: { type?: string; user?: string; tab?: string };
};

/** Who is asking, and through which entry point; undefined for what is not a requester's. */
function callerOf(body: Body): Caller | undefined {
  const team = body.user?.team_id;
  const enterprise = body.enterprise?.id;
  if (body.command && body.user_id) return { user: body.user_id, entry: 'command' };
  if (body.type === 'block_suggestion' && body.user?.id) return { user: body.user.id, team, enterprise, entry: 'options' };
  if (body.type === 'view_submission' && body.user?.id) {
    const form = FORMS.get(body.view?.callback_id ?? '');
    if (form?.asks === 'decision') return undefined;
    return { user: body.user.id, team, enterprise, entry: 'submission', form };
  }
  if (body.type === 'block_actions' && body.user?.id) {
    const action = body.actions?.[0]?.action_id ?? '';
    if (DECISIONS.has(action)) return undefined;
    return { user: body.user.id, team, enterprise, entry: body.view?.type === 'modal' ? 'modal_action' : 'button' };
  }
  if (body.event?.type === 'app_home_opened' && body.event.user && body.event.tab === 'home') return { user: body.event.user, entry: 'app_home' };
  return undefined;
}

/** The global middleware: a requester's entry point goes on only for those the gate lets through. */
export async function screenRequester(args: AnyMiddlewareArgs & AllMiddlewareArgs, ctx: BotContext): Promise<void> {
  const body = args.body as Body;
  const caller = callerOf(body);
  if (!caller) return args.next();
  const verdict = await ctx.requesters.check(caller.user, caller.team, caller.enterprise);
  if (verdict.ok) {
    // Listeners read it (leads are not limited in how much they ask).
    args.context.requester = verdict;
    return args.next();
  }
  ctx.logger.info({ user: caller.user, entry: caller.entry, reason: verdict.reason }, 'refused a requester');
  const ack = 'ack' in args ? (args.ack as (response?: unknown) => Promise<void>) : undefined;
  switch (caller.entry) {
    case 'command':
      await ack?.({ response_type: 'ephemeral', text: verdict.message });
      break;
    case 'options':
      await ack?.({ options: [] });
      break;
    case 'submission': {
      const form = caller.form;
      if (form?.asks === 'requester') {
        await ack?.({ response_action: 'errors', errors: { [form.refusalBlock(body.view?.private_metadata)]: verdict.message } });
        break;
      }
      // A form that names no field for it: it closes, and the sentence comes as a DM.
      await ack?.();
      void ctx.notifier.dm(caller.user, say(verdict.message));
      break;
    }
    case 'app_home':
      await ctx.notifier.publishHome(caller.user, { type: 'home', blocks: say(verdict.message).blocks });
      break;
    default:
      await ack?.();
      if (caller.entry === 'button') void ctx.notifier.dm(caller.user, say(verdict.message));
  }
  await ctx.requests.recordRefused(caller.user, caller.entry, verdict.reason, verdict.message);
}

/** Registered first, so it screens what every other listener receives. */
export function register(app: App, ctx: BotContext): void {
  app.use((args) => screenRequester(args, ctx));
}
