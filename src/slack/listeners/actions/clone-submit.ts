/**
 * The "Another like this" form's submission: the copy is asked of the core (`ctx.clones.ask`),
 * which files it as a new VM — limits, the name reserved, pre-flight, the policy, quotas — and
 * any refusal is shown under the name. Filed, it is announced as any request (approved by a rule:
 * it starts now; else the approval channel). A second delivery of the same submission files nothing.
 */
import type { VmClones } from '../../../workflows/clone-vm.js';
import { announceFiled } from '../../announce.js';
import type { BotContext } from '../../context.js';
import type { GateVerdict } from '../../requesters.js';
import { CLONE_NAME_BLOCK, cloneSubmission } from '../../views/clone-modal.js';
import type { SubmissionArgs } from '../args.js';
import { GONE } from './vm-target.js';

/** The core's copies, until BotContext carries them itself. */
export type CloneContext = BotContext & { clones: Pick<VmClones, 'ask'> };

export async function submitClone({ ack, body, view, context }: SubmissionArgs, ctx: CloneContext): Promise<void> {
  const refuse = (message: string) => ack({ response_action: 'errors', errors: { [CLONE_NAME_BLOCK]: message } });
  const { meta, name } = cloneSubmission(view);
  if (!meta) return refuse('This form is not one the bot opened; open "Another like this" again.');
  const user = body.user.id;
  // Who may copy it is asked again: the VM may have been deleted or handed on since the form opened.
  const access = await ctx.vms.access(meta.runId, user, (u) => ctx.approvers.isApprover(ctx.slack, u));
  if (access.kind === 'gone') return refuse(GONE);
  // Plain text: a field error shows no mentions.
  if (access.kind === 'not_yours') return refuse(`${access.vm.name} is someone else's; only its owner or a lead may copy it. Nothing was filed.`);
  const requester = context.requester as GateVerdict | undefined;
  const outcome = await ctx.clones.ask(access.vm, name, user, { sourceViewId: view.id, unlimited: requester?.ok === true && requester.lead });
  if (outcome.kind === 'refused') return refuse(outcome.errors.map((e) => e.message).join('; '));
  await ack();
  if (!outcome.created) return; // a retried delivery of a submission already filed
  await announceFiled(ctx, outcome.request, outcome.waitingWhy);
}
