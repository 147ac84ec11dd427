/**
 * Messages the bot posts: the approval request, its decided form, thread progress and summary,
 * failure with lead-only buttons, the audit-channel line, the requester's DM. Pure functions; all
 * user text escaped.
 */
import type { types } from '@slack/bolt';
import { planSpec } from '../../plan/plan.js';
import { renderPlanText, summarizeSpec } from '../../plan/render.js';
import type { RunResult } from '../../provision/result.js';
import type { RequestRecord } from '../../store/records.js';
import { clip, escapeClip, escapeText, mention, slackDate } from '../escape.js';

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
const section = (text: string, block_id?: string): types.SectionBlock => ({ type: 'section', ...(block_id ? { block_id } : {}), text: mrkdwn(clip(text, 3000)) });
const button = (action_id: string, label: string, value: string, style?: 'primary' | 'danger'): types.Button => ({
  type: 'button',
  action_id,
  value,
  text: { type: 'plain_text', text: label },
  ...(style ? { style } : {}),
});

function specFields(request: RequestRecord): types.SectionBlock {
  const s = request.spec;
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

/** The plan as text in a code block; long plans are cut to fit a message. */
function planBlock(request: RequestRecord): types.SectionBlock {
  const plan = escapeText(renderPlanText(planSpec(request.spec)));
  return section(`*Plan* (the exact VergeOS calls, in order)\n\`\`\`${clip(plan, 2700)}\`\`\``);
}

function preflightBlock(request: RequestRecord): types.ContextBlock {
  const lines = request.warnings.length ? request.warnings.map((w) => `:warning: ${escapeText(w)}`) : [':white_check_mark: Pre-flight: name free; cluster, networks, media and devices exist; tiers have room.'];
  return { type: 'context', elements: [mrkdwn(clip(lines.join('\n'), 3000))] };
}

export function approvalRequest(request: RequestRecord): Message {
  const description = request.spec.vm.description ? `\n>${escapeClip(request.spec.vm.description, 500)}` : '';
  return {
    text: `${request.id}: ${mention(request.requester)} asks for VM ${escapeClip(request.spec.vm.name, 200)} (${summarizeSpec(request.spec)})`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(`${request.id}: VM ${request.spec.vm.name}`, 150) } },
      section(`${mention(request.requester)} asks for a new VM${request.recipe ? ` from recipe \`${escapeText(request.recipe)}\`` : ''}.${description}`),
      specFields(request),
      planBlock(request),
      preflightBlock(request),
      { type: 'context', elements: [mrkdwn(`Expires ${slackDate(request.expiresAt)} if nobody decides.`)] },
      {
        type: 'actions',
        block_id: `decide.${request.id}`,
        elements: [
          { ...button(APPROVAL_ACTIONS.approve, 'Approve', request.id, 'primary'), confirm: { title: { type: 'plain_text', text: 'Approve this VM?' }, text: mrkdwn(`The bot will create ${escapeClip(request.spec.vm.name, 100)} in VergeOS now.`), confirm: { type: 'plain_text', text: 'Approve' }, deny: { type: 'plain_text', text: 'Back' } } },
          button(APPROVAL_ACTIONS.reject, 'Reject', request.id, 'danger'),
        ],
      },
    ],
  };
}

const DECIDED: Partial<Record<RequestRecord['state'], (r: RequestRecord) => string>> = {
  approved: (r) => `:white_check_mark: Approved by ${mention(r.decidedBy!)} ${slackDate(r.decidedAt!)}`,
  provisioning: (r) => `:white_check_mark: Approved by ${mention(r.decidedBy!)} ${slackDate(r.decidedAt!)} — provisioning (see thread)`,
  succeeded: (r) => `:white_check_mark: Approved by ${mention(r.decidedBy!)} ${slackDate(r.decidedAt!)} — provisioned`,
  failed: (r) => `:white_check_mark: Approved by ${mention(r.decidedBy!)} ${slackDate(r.decidedAt!)} — :x: provisioning failed (see thread)`,
  cleaned_up: (r) => `:white_check_mark: Approved by ${mention(r.decidedBy!)} ${slackDate(r.decidedAt!)} — failed; partial VM deleted`,
  rejected: (r) => `:no_entry: Rejected by ${mention(r.decidedBy!)} ${slackDate(r.decidedAt!)}: ${escapeClip(r.reason ?? '', 500)}`,
  cancelled: (r) => `:heavy_multiplication_x: Cancelled by the requester ${slackDate(r.decidedAt!)}`,
  expired: (r) => `:hourglass: Expired ${slackDate(r.decidedAt ?? r.expiresAt)} without a decision`,
};

/** The approval message once decided: same content, no buttons, who decided and when. */
export function decidedRequest(request: RequestRecord): Message {
  const open = approvalRequest(request);
  const status = DECIDED[request.state]?.(request) ?? request.state;
  return {
    text: `${request.id}: ${status}`,
    blocks: [...open.blocks.filter((b) => b.type !== 'actions' && !(b.type === 'context' && JSON.stringify(b).includes('Expires'))), { type: 'context', elements: [mrkdwn(status)] }],
  };
}

export function requesterReceipt(request: RequestRecord): Message {
  const link = request.permalink ? `<${request.permalink}|${request.id}>` : request.id;
  return {
    text: `Your request ${request.id} for ${request.spec.vm.name} is waiting for a lead's approval.`,
    blocks: [
      section(`Your request ${link} for *${escapeClip(request.spec.vm.name, 200)}* is waiting for a lead's approval. You will hear here when it is decided.`),
      { type: 'actions', block_id: `cancel.${request.id}`, elements: [button(APPROVAL_ACTIONS.cancel, 'Cancel request', request.id)] },
    ],
  };
}

export function requesterUpdate(request: RequestRecord, detail: string): Message {
  const link = request.permalink ? `<${request.permalink}|${request.id}>` : request.id;
  const text = `${link} (${escapeClip(request.spec.vm.name, 200)}): ${detail}`;
  return { text, blocks: [section(text)] };
}

export function progressMessage(request: RequestRecord, lines: string[], done: boolean): Message {
  const header = done ? `Provisioning ${escapeClip(request.spec.vm.name, 200)}: finished` : `Provisioning ${escapeClip(request.spec.vm.name, 200)}…`;
  const body = lines.length ? lines.join('\n') : '_starting_';
  return { text: header, blocks: [section(`*${header}*\n${clip(body, 2800)}`)] };
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
          { ...button(APPROVAL_ACTIONS.cleanup, 'Delete partial VM', request.id, 'danger'), confirm: { title: { type: 'plain_text', text: 'Delete the partial VM?' }, text: mrkdwn('It is powered off if running, then deleted with its drives, NICs and devices.'), confirm: { type: 'plain_text', text: 'Delete' }, deny: { type: 'plain_text', text: 'Back' } } },
        ],
      },
      { type: 'context', elements: [mrkdwn('Only leads can retry or delete.')] },
    ],
  };
}

/** The failure message once acted on: no buttons, what happened instead. */
export function failureResolved(request: RequestRecord, message: string, outcome: string): Message {
  return { text: `${request.id}: ${outcome}`, blocks: [section(`:x: *Provisioning failed.* ${escapeText(message)}`), { type: 'context', elements: [mrkdwn(outcome)] }] };
}

export type AuditKind = 'provisioned' | 'rejected' | 'cancelled' | 'expired' | 'failed' | 'cleaned_up';

/** One line in the audit channel per outcome. */
export function auditLine(kind: AuditKind, request: RequestRecord, result?: RunResult): Message {
  const link = request.permalink ? `<${request.permalink}|${request.id}>` : request.id;
  const name = `*${escapeClip(request.spec.vm.name, 200)}*`;
  const who = `requested by ${mention(request.requester)}${request.decidedBy && request.decidedBy !== request.requester ? `, ${kind === 'rejected' ? 'rejected' : 'approved'} by ${mention(request.decidedBy)}` : ''}`;
  const keys = result?.vmKey ? ` · VM key ${result.vmKey} / machine key ${result.machineKey}` : '';
  const lead: Record<AuditKind, string> = {
    provisioned: `:white_check_mark: ${name} provisioned${keys}`,
    failed: `:x: ${name} failed to provision${keys}`,
    cleaned_up: `:wastebasket: ${name} partial VM deleted${keys}`,
    rejected: `:no_entry: ${name} rejected${request.reason ? ` (${escapeClip(request.reason, 300)})` : ''}`,
    cancelled: `:heavy_multiplication_x: ${name} cancelled`,
    expired: `:hourglass: ${name} expired without a decision`,
  };
  const text = `${lead[kind]} · ${escapeText(summarizeSpec(request.spec))} · ${who} · ${link}`;
  return { text, blocks: [section(text)] };
}

export function stepLine(event: { index: number; total: number; description: string; key?: string | undefined; vmKey?: string | undefined; machineKey?: string | undefined; reconciled?: boolean }): string {
  const keys = event.vmKey ? ` → VM key *${event.vmKey}*, machine key *${event.machineKey}*` : event.key ? ` → key *${event.key}*` : '';
  return `:white_check_mark: ${event.index + 1}/${event.total} ${escapeText(event.description)}${keys}${event.reconciled ? ' _(found by lookup)_' : ''}`;
}
