/**
 * A change form's submission (resize, add disk, grow disk, add NIC, take snapshot, restore or
 * delete one): read into a `VmChange`, then the core's `changes.ask` with the form's view id, so
 * a second delivery acts once. Only the VM's owner or a lead; anyone else gets a plain sentence
 * and nothing is done. Refusals go back under the form's inputs; done or asked of a lead, the
 * form closes and the person is told (a change for a lead is posted in the approval channel).
 * The answer comes within `ctx.preflightMs`; a change that takes longer (a power cycle) closes
 * the form and is told when it is done.
 */
import { CodedError } from '../../../errors.js';
import { ChangeFailure } from '../../../provision/provisioner.js';
import type { BotContext } from '../../context.js';
import { changeDoneReply, changeFailedReply, changeRequestedReply } from '../../views/change-messages.js';
import { approvalRequest, say, type Message } from '../../views/messages.js';
import { errorsByBlock, readChangeForm } from '../../views/vm-change-read.js';
import { formOfCallback, readFormMeta, type ChangeForm } from '../../views/vm-change-forms.js';
import type { FieldError } from '../../../vmspec/validate.js';
import { escapeText } from '../../escape.js';
import type { SubmissionArgs } from '../args.js';
import { GONE, notYours } from '../actions/vm-target.js';

/** How a submission is answered: errors keep the form open; otherwise it closes, then `after` tells. */
interface Answer {
  errors?: Record<string, string>;
  after?: () => Promise<unknown>;
}

/** Submissions being answered in this process, by view id: a second delivery meanwhile joins the first. */
const answering = new WeakMap<BotContext, Map<string, Promise<Answer>>>();

export async function submitVmChange({ ack, body, view }: SubmissionArgs, ctx: BotContext): Promise<void> {
  const form = formOfCallback(view.callback_id);
  const meta = readFormMeta(view.private_metadata);
  if (!form || !meta) return ack();
  let pending = answering.get(ctx);
  if (!pending) answering.set(ctx, (pending = new Map<string, Promise<Answer>>()));
  const joined = pending.get(view.id);
  const work = joined ?? answer(form, meta.runId, meta.channel, body.user.id, view, ctx);
  if (!joined) {
    pending.set(view.id, work);
    void work.finally(() => pending.delete(view.id)).catch(() => undefined);
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ctx.preflightMs)));
  const answered = await Promise.race([work, late]).finally(() => clearTimeout(timer));
  if (answered?.errors) return ack({ response_action: 'errors', errors: answered.errors });
  await ack();
  // The second delivery of one submission tells nobody: the first does.
  if (joined) return;
  const done = answered ?? (await work);
  if (!answered && done.errors) {
    // Past Slack's 3 s the form has closed: the refusal comes as a message.
    await ctx.notifier.tell(body.user.id, meta.channel, say(`Nothing was changed: ${escapeText(Object.values(done.errors).join('; '))}`));
    return;
  }
  await done.after?.();
}

async function answer(
  form: ChangeForm,
  runId: string,
  channel: string | undefined,
  user: string,
  view: SubmissionArgs['view'],
  ctx: BotContext,
): Promise<Answer> {
  const refuse = (errors: FieldError[]): Answer => ({ errors: errorsByBlock(form, errors) });
  const tell = (message: Message): Answer => ({ after: () => ctx.notifier.tell(user, channel, message) });
  const access = await ctx.vms.access(runId, user, (u) => ctx.approvers.isApprover(ctx.slack, u));
  if (access.kind === 'gone') return refuse([{ path: '', message: GONE }]);
  if (access.kind === 'not_yours') return refuse([{ path: '', message: notYours(access.vm.name, access.owner) }]);
  const { vm } = access;
  try {
    const snapshots = form === 'snapshots' ? await ctx.changes.snapshots(vm) : undefined;
    const read = readChangeForm(form, view.state.values, { now: ctx.leases.now(), ...(snapshots ? { snapshots } : {}) });
    if (!read.ok) return refuse(read.errors);
    const { shown } = ctx.changes.show(vm, read.change);
    let asked;
    try {
      asked = await ctx.changes.ask(vm, read.change, user, view.id);
    } catch (err) {
      // Recorded as failed on the VM's ledger (and shown in its thread): the form closes.
      if (err instanceof ChangeFailure) return tell(changeFailedReply(vm.name, shown, err.message));
      throw err;
    }
    if (asked.kind === 'refused') return refuse(asked.errors);
    if (asked.kind === 'done') {
      if (asked.result.already) return {};
      // As it was applied (pre-flight may have completed it: the size a restore went back to).
      const applied = ctx.changes.show(vm, asked.result.entry.change).shown;
      return tell(changeDoneReply(vm.name, applied, asked.result.vm.needRestart === true, asked.warnings));
    }
    const { request, created } = asked;
    if (!created) return {};
    return {
      after: async () => {
        const posted = await ctx.notifier.post(ctx.approvalChannel, approvalRequest(request, ctx.env.VM_APPROVERS, ctx.recipes));
        if (posted) await ctx.requests.attachApprovalMessage(request.id, posted, await ctx.notifier.permalink(posted));
        await ctx.notifier.tell(user, channel, changeRequestedReply(vm.name, request, true));
      },
    };
  } catch (err) {
    // Another action holds the VM, or VergeOS did not answer: nothing was recorded, so the same form can be sent again.
    if (err instanceof CodedError) return refuse([{ path: '', message: (err as Error).message }]);
    throw err;
  }
}
