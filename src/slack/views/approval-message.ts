/**
 * The approval request in the approval channel — what is asked, the plan, pre-flight, policy,
 * lease, user-data — and its decided form (no buttons, who decided and when).
 */
import type { types } from '@slack/bolt';
import { renderPlanText, summarizeSpec, summarizeTotals } from '../../plan/render.js';
import { requestPlan, requestSpecs } from '../../requests/requests.js';
import { formatDuration } from '../../vmspec/units.js';
import type { RequestRecord } from '../../store/records.js';
import type { Recipe } from '../../vmspec/recipes.js';
import { clip, clipMrkdwn, codeBlock, escapeClip, escapeText, mention, quoted, slackDate } from '../escape.js';
import { APPROVAL_ACTIONS, button, decisionBlocks, firstAndLast, mrkdwn, section, type Message } from './message-parts.js';
import { userDataBlock } from './user-data.js';
import { changeRequest } from './change-messages.js';
import { policyBlock } from './policy-block.js';

function specFields(request: RequestRecord): types.SectionBlock {
  const s = request.spec;
  if (request.kind === 'batch') {
    return {
      type: 'section',
      fields: [
        mrkdwn(`*Names* (${request.batch.count})\n\`${escapeClip(request.batch.pattern, 150)}\`: ${escapeClip(firstAndLast(request), 300)}`),
        mrkdwn(`*Each*\n${escapeText(summarizeSpec(s))}`),
        mrkdwn(`*Totals*\n${escapeText(summarizeTotals(requestSpecs(request)))}`),
        mrkdwn(`*Cluster*\n${s.vm.cluster ?? 'default'}`),
        mrkdwn(`*Power on*\n${s.power_on ? 'yes' : 'no'}`),
      ],
    };
  }
  return {
    type: 'section',
    fields: [
      mrkdwn(`*Name*\n${escapeClip(s.vm.name, 200)}`),
      mrkdwn(`*Size*\n${escapeText(summarizeSpec(s))}`),
      mrkdwn(`*Cluster*\n${s.vm.cluster ?? 'default'}`),
      mrkdwn(`*Power on*\n${s.power_on ? 'yes' : 'no'}`),
    ],
  };
}

/**
 * The plan as text in a code block; long plans are cut to fit a message. A batch shows one VM's.
 * It holds user text (drive and NIC names…): a ``` in it must not end the block.
 */
function planBlock(request: RequestRecord): types.SectionBlock {
  // A copy's plan is its one clone call (and power on), not the calls that would build it anew.
  const plan = renderPlanText(requestPlan(request));
  const title =
    request.kind === 'batch'
      ? `*Plan of each VM* (the exact VergeOS calls for ${escapeClip(request.spec.vm.name, 100)}; the others differ only in name)`
      : '*Plan* (the exact VergeOS calls, in order)';
  return section(`${title}\n${codeBlock(plan, 2606)}`);
}

/** "Kept for 7 days once ready (extendable to at most 30 days)" or "Kept until deleted". */
export function leaseLine(lease: RequestRecord['lease']): string {
  if (!lease) return ':infinity: Kept until deleted.';
  return `:hourglass: Kept for ${formatDuration(lease.forMs)} once ready${lease.maxMs ? ` (extendable to at most ${formatDuration(lease.maxMs)} from any day)` : ''}; then powered off, and deleted after a grace period unless extended.`;
}

function preflightBlock(request: RequestRecord): types.ContextBlock {
  const lines = request.warnings.length
    ? request.warnings.map((w) => `:warning: ${escapeText(w)}`)
    : [
        `:white_check_mark: Pre-flight: ${request.kind === 'batch' ? `all ${request.batch.count} names free` : 'name free'}; cluster, networks, media and devices exist; tiers, devices and cluster have room${request.kind === 'batch' ? ' for the whole batch' : ''}.`,
      ];
  return { type: 'context', elements: [mrkdwn(clipMrkdwn([...lines, leaseLine(request.lease)].join('\n'), 3000))] };
}

/** Who approved: the people (in order), or the policy rule that needed no click. */
function approvedBy(r: RequestRecord): string {
  if (r.decidedBy?.startsWith('policy:')) return `Approved without a click by rule ${escapeText(r.decidedBy.slice('policy:'.length))}`;
  const people = r.approvals.length ? r.approvals.map((a) => mention(a.user)) : [mention(r.decidedBy!)];
  return `Approved by ${people.join(' and ')}`;
}

/** Asking to keep an existing VM beyond its lease's maximum: what, until when, by whom. */
function extensionRequest(request: RequestRecord): Message {
  const ext = request.extension!;
  const name = escapeClip(request.spec.vm.name, 200);
  return {
    text: `${request.id}: ${mention(request.requester)} asks to keep VM ${name} until ${ext.until}, beyond its lease's maximum`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(`${request.id}: keep ${request.spec.vm.name} longer`, 150) } },
      section(
        `${mention(request.requester)} asks to keep *${name}* until ${slackDate(ext.until)}, beyond the most its lease allows. Nothing is created; approving moves the end of its lease.`,
      ),
      { type: 'context', elements: [mrkdwn(`Expires ${slackDate(request.expiresAt)} if nobody decides.`)] },
      {
        type: 'actions',
        block_id: `decide.${request.id}`,
        elements: [button(APPROVAL_ACTIONS.approve, 'Approve', request.id, 'primary'), button(APPROVAL_ACTIONS.reject, 'Reject', request.id, 'danger')],
      },
    ],
  };
}

/** Block JSON a message may hold, with room left for the status line of its decided form. */
const MESSAGE_ROOM = 11_500;

/** The lead approves the user-data too: it goes after the plan, in the room the rest of the message leaves. */
function withUserData(request: RequestRecord, recipes: readonly Recipe[] | undefined, plan: types.KnownBlock, message: Message): Message {
  const block = userDataBlock(request, recipes, MESSAGE_ROOM - JSON.stringify(message.blocks).length);
  if (!block) return message;
  const at = message.blocks.indexOf(plan) + 1;
  return { ...message, blocks: [...message.blocks.slice(0, at), block, ...message.blocks.slice(at)] };
}

/**
 * `recipes` (the bot's recipe list, `ctx.recipes`) lets the message say "user-data: as in recipe
 * X" instead of showing it; without it, any user-data is shown (masked).
 */
export function approvalRequest(request: RequestRecord, vmApprovers: readonly string[] = [], recipes?: readonly Recipe[]): Message {
  if (request.kind === 'extension') return extensionRequest(request);
  if (request.kind === 'change') return changeRequest(request, vmApprovers);
  const description = request.spec.vm.description ? `\n${quoted(request.spec.vm.description, 500)}` : '';
  const what =
    request.kind === 'batch'
      ? `${request.batch.count} VMs ${escapeClip(request.batch.pattern, 150)} (${escapeClip(firstAndLast(request), 300)})`
      : `VM ${escapeClip(request.spec.vm.name, 200)}`;
  const asks =
    request.kind === 'batch'
      ? `${request.batch.count} new VMs, ${escapeClip(firstAndLast(request), 300)}`
      : request.kind === 'clone'
        ? `a copy of ${escapeClip(request.clone.name, 128)} (VM key ${escapeText(request.clone.vmKey)}) named ${escapeClip(request.spec.vm.name, 128)}`
        : 'a new VM';
  const plan = planBlock(request);
  return withUserData(request, recipes, plan, {
    text: `${request.id}: ${mention(request.requester)} asks for ${what} (${summarizeSpec(request.spec)}${request.kind === 'batch' ? ' each' : ''})`,
    blocks: [
      {
        type: 'header',
        text: {
          type: 'plain_text',
          text: clip(
            request.kind === 'batch' ? `${request.id}: ${request.batch.count} VMs ${request.batch.pattern}` : `${request.id}: VM ${request.spec.vm.name}`,
            150,
          ),
        },
      },
      section(`${mention(request.requester)} asks for ${asks}${request.recipe ? ` from recipe \`${escapeText(request.recipe)}\`` : ''}.${description}`),
      specFields(request),
      plan,
      preflightBlock(request),
      ...(policyBlock(request, vmApprovers) ? [policyBlock(request, vmApprovers)!] : []),
      ...decisionBlocks(request, {
        title: request.kind === 'batch' ? `Approve ${request.batch.count} VMs?` : 'Approve this VM?',
        text: `The bot will create ${request.kind === 'batch' ? `${request.batch.count} VMs (${escapeClip(firstAndLast(request), 200)})` : escapeClip(request.spec.vm.name, 100)} in VergeOS now.`,
      }),
    ],
  });
}

const DECIDED: Partial<Record<RequestRecord['state'], (r: RequestRecord) => string>> = {
  approved: (r) => `:white_check_mark: ${approvedBy(r)} ${slackDate(r.decidedAt!)}`,
  provisioning: (r) => `:white_check_mark: ${approvedBy(r)} ${slackDate(r.decidedAt!)} — provisioning (see thread)`,
  succeeded: (r) =>
    `:white_check_mark: ${approvedBy(r)} ${slackDate(r.decidedAt!)} — ${r.kind === 'extension' ? 'lease extended' : r.kind === 'change' ? 'change applied' : 'provisioned'}`,
  failed: (r) =>
    r.kind === 'change'
      ? `:white_check_mark: ${approvedBy(r)} ${slackDate(r.decidedAt!)} — :x: the change failed: ${escapeClip(r.reason ?? 'it failed', 500)}`
      : `:white_check_mark: ${approvedBy(r)} ${slackDate(r.decidedAt!)} — :x: provisioning failed (see thread)`,
  cleaned_up: (r) => `:white_check_mark: ${approvedBy(r)} ${slackDate(r.decidedAt!)} — failed; partial VM deleted`,
  rejected: (r) => `:no_entry: Rejected by ${mention(r.decidedBy!)} ${slackDate(r.decidedAt!)}: ${escapeClip(r.reason ?? '', 500)}`,
  cancelled: (r) =>
    r.kind === 'extension' && r.reason
      ? `:heavy_multiplication_x: Approved, but not applied: ${escapeClip(r.reason, 300)}`
      : `:heavy_multiplication_x: Cancelled by the requester ${slackDate(r.decidedAt!)}`,
  expired: (r) => `:hourglass: Expired ${slackDate(r.decidedAt ?? r.expiresAt)} without a decision`,
};

/** The approval message once decided: same content, no buttons, who decided and when. `recipes` as for approvalRequest. */
export function decidedRequest(request: RequestRecord, vmApprovers: readonly string[] = [], recipes?: readonly Recipe[]): Message {
  const open = approvalRequest(request, vmApprovers, recipes);
  const status = DECIDED[request.state]?.(request) ?? request.state;
  return {
    text: `${request.id}: ${status}`,
    blocks: [
      ...open.blocks.filter((b) => b.type !== 'actions' && !(b.type === 'context' && JSON.stringify(b).includes('Expires'))),
      { type: 'context', elements: [mrkdwn(status)] },
    ],
  };
}
