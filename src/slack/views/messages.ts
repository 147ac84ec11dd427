/**
 * Messages the bot posts: the approval request, its decided form, thread progress and summary,
 * failure with lead-only buttons, the audit-channel line, the requester's DM. Pure functions; all
 * user text escaped.
 */
import type { types } from '@slack/bolt';
import { planSpec } from '../../plan/plan.js';
import { renderPlanText, summarizeSpec, summarizeTotals } from '../../plan/render.js';
import type { RunEvent } from '../../provision/provisioner.js';
import type { RunResult } from '../../provision/result.js';
import { requestSpecs, requestSubject } from '../../requests/requests.js';
import { describeFrom } from '../../policy/members.js';
import { formatDuration } from '../../vmspec/units.js';
import type { RequestRecord } from '../../store/records.js';
import type { Recipe } from '../../vmspec/recipes.js';
import { clip, clipMrkdwn, codeBlock, escapeClip, escapeText, mention, quoted, slackDate } from '../escape.js';
import { userDataBlock } from './user-data.js';

export const APPROVAL_ACTIONS = {
  approve: 'request_approve',
  reject: 'request_reject',
  cancel: 'request_cancel',
  retry: 'run_retry',
  cleanup: 'run_cleanup',
} as const;

export interface Message {
  text: string;
  blocks: types.KnownBlock[];
}

const mrkdwn = (text: string): types.MrkdwnElement => ({ type: 'mrkdwn', text });

/** A one-section message from mrkdwn text (notes, refusals, audit lines). */
export const say = (text: string): Message => ({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
const section = (text: string, block_id?: string): types.SectionBlock => ({
  type: 'section',
  ...(block_id ? { block_id } : {}),
  text: mrkdwn(clipMrkdwn(text, 3000)),
});
/** A Block Kit button whose value is the id it acts on. */
export const button = (action_id: string, label: string, value: string, style?: 'primary' | 'danger'): types.Button => ({
  type: 'button',
  action_id,
  value,
  text: { type: 'plain_text', text: label },
  ...(style ? { style } : {}),
});

/** "web-1 … web-50" for a batch. */
function firstAndLast(request: RequestRecord): string {
  const specs = requestSpecs(request);
  return `${specs[0]!.vm.name} … ${specs.at(-1)!.vm.name}`;
}

function specFields(request: RequestRecord): types.SectionBlock {
  const s = request.spec;
  if (request.batch) {
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
  const plan = renderPlanText(planSpec(request.spec));
  const title = request.batch
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
        `:white_check_mark: Pre-flight: ${request.batch ? `all ${request.batch.count} names free` : 'name free'}; cluster, networks, media and devices exist; tiers, devices and cluster have room${request.batch ? ' for the whole batch' : ''}.`,
      ];
  return { type: 'context', elements: [mrkdwn(clipMrkdwn([...lines, leaseLine(request.lease)].join('\n'), 3000))] };
}

/** The policy's part: which rule decided, who must approve and who has, the requester's quota use. */
function policyBlock(request: RequestRecord, vmApprovers: readonly string[]): types.ContextBlock | undefined {
  const p = request.policy;
  if (!p) return undefined;
  const rule = `rule *${escapeText(p.rule)}* (policy ${escapeText(p.hash)})`;
  const head =
    p.decision === 'auto'
      ? `:robot_face: Approved without a click by ${rule}.`
      : `:busts_in_silhouette: ${rule}: needs ${p.count ?? 1} of ${p.approvers ?? describeFrom(p.from ?? ['VM_APPROVERS'], vmApprovers)} — ${request.approvals.length} of ${p.count ?? 1} so far${request.approvals.length ? `: ${request.approvals.map((a) => mention(a.user)).join(', ')}` : ''}.`;
  return { type: 'context', elements: [mrkdwn(clipMrkdwn([head, ...p.quota.map((q) => escapeText(q))].join('\n'), 3000))] };
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
  if (request.extension) return extensionRequest(request);
  const description = request.spec.vm.description ? `\n${quoted(request.spec.vm.description, 500)}` : '';
  const what = request.batch
    ? `${request.batch.count} VMs ${escapeClip(request.batch.pattern, 150)} (${escapeClip(firstAndLast(request), 300)})`
    : `VM ${escapeClip(request.spec.vm.name, 200)}`;
  const asks = request.batch ? `${request.batch.count} new VMs, ${escapeClip(firstAndLast(request), 300)}` : 'a new VM';
  const plan = planBlock(request);
  return withUserData(request, recipes, plan, {
    text: `${request.id}: ${mention(request.requester)} asks for ${what} (${summarizeSpec(request.spec)}${request.batch ? ' each' : ''})`,
    blocks: [
      {
        type: 'header',
        text: {
          type: 'plain_text',
          text: clip(request.batch ? `${request.id}: ${request.batch.count} VMs ${request.batch.pattern}` : `${request.id}: VM ${request.spec.vm.name}`, 150),
        },
      },
      section(`${mention(request.requester)} asks for ${asks}${request.recipe ? ` from recipe \`${escapeText(request.recipe)}\`` : ''}.${description}`),
      specFields(request),
      plan,
      preflightBlock(request),
      ...(policyBlock(request, vmApprovers) ? [policyBlock(request, vmApprovers)!] : []),
      { type: 'context', elements: [mrkdwn(`Expires ${slackDate(request.expiresAt)} if nobody decides.`)] },
      {
        type: 'actions',
        block_id: `decide.${request.id}`,
        elements: [
          {
            ...button(APPROVAL_ACTIONS.approve, 'Approve', request.id, 'primary'),
            confirm: {
              title: { type: 'plain_text', text: request.batch ? `Approve ${request.batch.count} VMs?` : 'Approve this VM?' },
              text: mrkdwn(
                `The bot will create ${request.batch ? `${request.batch.count} VMs (${escapeClip(firstAndLast(request), 200)})` : escapeClip(request.spec.vm.name, 100)} in VergeOS now.`,
              ),
              confirm: { type: 'plain_text', text: 'Approve' },
              deny: { type: 'plain_text', text: 'Back' },
            },
          },
          button(APPROVAL_ACTIONS.reject, 'Reject', request.id, 'danger'),
        ],
      },
    ],
  });
}

const DECIDED: Partial<Record<RequestRecord['state'], (r: RequestRecord) => string>> = {
  approved: (r) => `:white_check_mark: ${approvedBy(r)} ${slackDate(r.decidedAt!)}`,
  provisioning: (r) => `:white_check_mark: ${approvedBy(r)} ${slackDate(r.decidedAt!)} — provisioning (see thread)`,
  succeeded: (r) => `:white_check_mark: ${approvedBy(r)} ${slackDate(r.decidedAt!)} — ${r.extension ? 'lease extended' : 'provisioned'}`,
  failed: (r) => `:white_check_mark: ${approvedBy(r)} ${slackDate(r.decidedAt!)} — :x: provisioning failed (see thread)`,
  cleaned_up: (r) => `:white_check_mark: ${approvedBy(r)} ${slackDate(r.decidedAt!)} — failed; partial VM deleted`,
  rejected: (r) => `:no_entry: Rejected by ${mention(r.decidedBy!)} ${slackDate(r.decidedAt!)}: ${escapeClip(r.reason ?? '', 500)}`,
  cancelled: (r) =>
    r.extension && r.reason
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

export function requesterReceipt(request: RequestRecord): Message {
  const link = request.permalink ? `<${request.permalink}|${request.id}>` : request.id;
  return {
    text: `Your request ${request.id} for ${requestSubject(request)} is waiting for a lead's approval.`,
    blocks: [
      section(
        `Your request ${link} for *${escapeClip(requestSubject(request), 200)}* is waiting for a lead's approval. You will hear here when it is decided.`,
      ),
      { type: 'actions', block_id: `cancel.${request.id}`, elements: [button(APPROVAL_ACTIONS.cancel, 'Cancel request', request.id)] },
    ],
  };
}

export function requesterUpdate(request: RequestRecord, detail: string): Message {
  const link = request.permalink ? `<${request.permalink}|${request.id}>` : request.id;
  const text = `${link} (${escapeClip(requestSubject(request), 200)}): ${detail}`;
  return { text, blocks: [section(text)] };
}

/** The run's one progress message, edited as steps finish. */
export function progressMessage(request: RequestRecord, lines: string[], done: boolean): Message {
  const header = done ? `Provisioning ${escapeClip(request.spec.vm.name, 200)}: finished` : `Provisioning ${escapeClip(request.spec.vm.name, 200)}…`;
  const body = lines.length ? lines.join('\n') : '_starting_';
  return { text: header, blocks: [section(`*${header}*\n${clipMrkdwn(body, 2800)}`)] };
}

export interface BatchCounts {
  total: number;
  ready: number;
  failed: number;
  notStarted: number;
  /** Names of the VMs that failed so far. */
  failedNames: string[];
}

/** A batch's one progress message: "37 of 50 ready, 2 failed", edited as VMs finish. */
export function batchProgressMessage(request: RequestRecord, counts: BatchCounts, done: boolean): Message {
  const subject = escapeClip(requestSubject(request), 200);
  const parts = [
    `${counts.ready} of ${counts.total} ready`,
    ...(counts.failed ? [`${counts.failed} failed`] : []),
    ...(counts.notStarted ? [`${counts.notStarted} not started`] : []),
  ];
  const header = `Provisioning ${subject}${done ? ': finished' : '…'}`;
  const failed = counts.failedNames.length ? `\n:x: ${escapeClip(counts.failedNames.join(', '), 1500)}` : '';
  return { text: `${header} ${parts.join(', ')}`, blocks: [section(`*${header}*\n${parts.join(', ')}${failed}`)] };
}

/** VMs per summary section, and sections per message: within Block Kit's text and block limits. */
const VMS_PER_SECTION = 15;
const SECTIONS_PER_MESSAGE = 3;

/** One VM of a batch summary; names are never cut (128 characters at most), so each stays findable. */
function vmLine(r: RunResult): string {
  const name = escapeText(r.name);
  if (r.state === 'succeeded') return `:white_check_mark: *${name}*: VM key *${r.vmKey}*, machine key *${r.machineKey}*`;
  if (r.state === 'not_started') return `:black_square_button: ${name}: not started`;
  const keys = r.vmKey ? ` (partial: VM key ${r.vmKey}, machine key ${r.machineKey})` : '';
  return `:x: ${name}: ${r.state === 'cleaned_up' ? 'deleted' : 'failed'}${keys}`;
}

/**
 * A batch's summary: every VM's name, VM key and machine key, split across as many messages as
 * it takes (each well within 50 blocks and Slack's text limit).
 */
export function batchSummaryMessages(request: RequestRecord, results: RunResult[]): Message[] {
  const ready = results.filter((r) => r.state === 'succeeded').length;
  const sections: string[] = [];
  for (let i = 0; i < results.length; i += VMS_PER_SECTION)
    sections.push(
      results
        .slice(i, i + VMS_PER_SECTION)
        .map(vmLine)
        .join('\n'),
    );
  const messages: Message[] = [];
  const parts = Math.ceil(sections.length / SECTIONS_PER_MESSAGE);
  for (let m = 0; m < parts; m++) {
    const head =
      m === 0
        ? `:tada: *${ready} of ${results.length} VMs are ready* (${escapeClip(requestSubject(request), 200)})${parts > 1 ? ` — part 1 of ${parts}` : ''}`
        : `*${escapeClip(requestSubject(request), 200)}* — part ${m + 1} of ${parts}`;
    const body = sections.slice(m * SECTIONS_PER_MESSAGE, (m + 1) * SECTIONS_PER_MESSAGE);
    messages.push({
      text: `${request.id}: ${ready} of ${results.length} VMs ready${parts > 1 ? ` (part ${m + 1} of ${parts})` : ''}`,
      blocks: [section(head), ...body.map((b) => section(b))],
    });
  }
  return messages;
}

/** A batch that did not fully succeed: what happened, and lead-only Retry and Delete for the failed VMs. */
export function batchFailureMessage(request: RequestRecord, results: RunResult[], stopReason: string | undefined): Message {
  const failed = results.filter((r) => r.state === 'failed');
  const notStarted = results.filter((r) => r.state === 'not_started').length;
  const partial = failed.filter((r) => r.vmKey).length;
  const lines = failed.slice(0, 10).map((r) => `• ${escapeClip(r.name, 100)}: ${escapeClip(r.error?.message ?? 'failed', 300)}`);
  if (failed.length > 10) lines.push(`• … and ${failed.length - 10} more`);
  const stopped = stopReason ? `\n:octagonal_sign: ${notStarted} VMs were not started: ${escapeClip(stopReason, 600)}` : '';
  const retryLabel = `Retry ${failed.length + notStarted} VM${failed.length + notStarted === 1 ? '' : 's'}`;
  const deleteLabel = partial ? `Delete ${partial} partial VM${partial === 1 ? '' : 's'}` : 'Close (nothing to delete)';
  return {
    text: `${request.id}: ${failed.length} of ${results.length} VMs failed${notStarted ? `, ${notStarted} not started` : ''}`,
    blocks: [
      section(`:x: *${failed.length} of ${results.length} VMs failed*${notStarted ? `, ${notStarted} not started` : ''}.\n${lines.join('\n')}${stopped}`),
      {
        type: 'actions',
        block_id: `run.${request.id}`,
        elements: [
          button(APPROVAL_ACTIONS.retry, retryLabel, request.id, 'primary'),
          {
            ...button(APPROVAL_ACTIONS.cleanup, deleteLabel, request.id, 'danger'),
            confirm: {
              title: { type: 'plain_text', text: partial ? `Delete ${partial} partial VMs?` : 'Close the request?' },
              text: mrkdwn('Each partial VM is powered off if running, then deleted with its drives, NICs and devices. VMs that are ready stay.'),
              confirm: { type: 'plain_text', text: partial ? 'Delete' : 'Close' },
              deny: { type: 'plain_text', text: 'Back' },
            },
          },
        ],
      },
      { type: 'context', elements: [mrkdwn('Only leads can retry or delete.')] },
    ],
  };
}

export function summaryMessage(request: RequestRecord, result: RunResult): Message {
  const keys = [
    `VM key *${result.vmKey}*, machine key *${result.machineKey}*`,
    ...result.drives.map((d) => `drive "${escapeClip(d.name, 100)}": *${d.key}*`),
    ...result.nics.map((n) => `NIC "${escapeClip(n.name, 100)}": *${n.key}*`),
    ...result.devices.map((d) => `device: *${d.key}*${d.uuid ? ` (uuid ${d.uuid})` : ''}`),
    `power: ${result.poweredOn ? 'on' : 'off'}`,
  ];
  return {
    text: `${request.id}: ${result.name} is ready — VM key ${result.vmKey}, machine key ${result.machineKey}`,
    blocks: [section(`:tada: *${escapeClip(result.name, 200)} is ready.*\n${keys.join('\n')}`)],
  };
}

export function failureMessage(request: RequestRecord, message: string, created: string): Message {
  return {
    text: `${request.id}: provisioning failed — ${message}`,
    blocks: [
      section(`:x: *Provisioning failed.* ${escapeText(message)}\n_${escapeText(created.charAt(0).toUpperCase() + created.slice(1))}._`),
      {
        type: 'actions',
        block_id: `run.${request.id}`,
        elements: [
          button(APPROVAL_ACTIONS.retry, 'Retry from failed step', request.id, 'primary'),
          {
            ...button(APPROVAL_ACTIONS.cleanup, 'Delete partial VM', request.id, 'danger'),
            confirm: {
              title: { type: 'plain_text', text: 'Delete the partial VM?' },
              text: mrkdwn('It is powered off if running, then deleted with its drives, NICs and devices.'),
              confirm: { type: 'plain_text', text: 'Delete' },
              deny: { type: 'plain_text', text: 'Back' },
            },
          },
        ],
      },
      { type: 'context', elements: [mrkdwn('Only leads can retry or delete.')] },
    ],
  };
}

/** The failure message once acted on: no buttons, what happened instead. */
export function failureResolved(request: RequestRecord, message: string, outcome: string): Message {
  return {
    text: `${request.id}: ${outcome}`,
    blocks: [section(`:x: *Provisioning failed.* ${escapeText(message)}`), { type: 'context', elements: [mrkdwn(outcome)] }],
  };
}

export type AuditKind = 'provisioned' | 'rejected' | 'cancelled' | 'expired' | 'failed' | 'cleaned_up';

/** One line in the audit channel per outcome (a batch: one line for the whole batch). */
export function auditLine(kind: AuditKind, request: RequestRecord, result?: RunResult, batch?: RunResult[]): Message {
  const link = request.permalink ? `<${request.permalink}|${request.id}>` : request.id;
  const name = `*${escapeClip(requestSubject(request), 200)}*${request.batch ? ` (${escapeClip(firstAndLast(request), 200)})` : ''}`;
  const decider =
    kind === 'rejected'
      ? request.decidedBy
        ? `rejected by ${mention(request.decidedBy)}`
        : ''
      : request.decidedBy?.startsWith('policy:')
        ? `approved by rule ${escapeText(request.decidedBy.slice('policy:'.length))}`
        : request.approvals.length > 1
          ? `approved by ${request.approvals.map((a) => mention(a.user)).join(' and ')}`
          : request.decidedBy
            ? `approved by ${mention(request.decidedBy)}`
            : '';
  const who = `requested by ${mention(request.requester)}${decider && request.decidedBy !== request.requester ? `, ${decider}` : ''}`;
  const count = (state: RunResult['state']) => batch?.filter((r) => r.state === state).length ?? 0;
  const keys = batch
    ? ` · ${count('succeeded')} of ${batch.length} ready${count('failed') ? `, ${count('failed')} failed` : ''}${count('not_started') ? `, ${count('not_started')} not started` : ''}${count('cleaned_up') ? `, ${count('cleaned_up')} deleted` : ''}`
    : result?.vmKey
      ? ` · VM key ${result.vmKey} / machine key ${result.machineKey}`
      : '';
  const lead: Record<AuditKind, string> = {
    provisioned: `:white_check_mark: ${name} provisioned${keys}`,
    failed: `:x: ${name} failed to provision${keys}`,
    cleaned_up: `:wastebasket: ${name} partial VM${request.batch ? 's' : ''} deleted${keys}`,
    rejected: `:no_entry: ${name} rejected${request.reason ? ` (${escapeClip(request.reason, 300)})` : ''}`,
    cancelled: `:heavy_multiplication_x: ${name} cancelled`,
    expired: `:hourglass: ${name} expired without a decision`,
  };
  const text = `${lead[kind]} · ${escapeText(summarizeSpec(request.spec))}${request.batch ? ' each' : ''} · ${who} · ${link}`;
  return { text, blocks: [section(text)] };
}

export function stepLine(
  event: Pick<Extract<RunEvent, { type: 'step_done' }>, 'index' | 'total' | 'description' | 'key' | 'vmKey' | 'machineKey'> & { reconciled?: boolean },
): string {
  const keys = event.vmKey ? ` → VM key *${event.vmKey}*, machine key *${event.machineKey}*` : event.key ? ` → key *${event.key}*` : '';
  return `:white_check_mark: ${event.index + 1}/${event.total} ${escapeText(event.description)}${keys}${event.reconciled ? ' _(found by lookup)_' : ''}`;
}
