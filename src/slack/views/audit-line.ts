/** The audit channel's one line per outcome of a request. */
import { summarizeSpec } from '../../plan/render.js';
import type { RunResult } from '../../provision/result.js';
import { requestSubject } from '../../requests/requests.js';
import type { RequestRecord } from '../../store/records.js';
import { escapeClip, escapeText, mention } from '../escape.js';
import { firstAndLast, requestLink, section, type Message } from './message-parts.js';

export type AuditKind = 'provisioned' | 'rejected' | 'cancelled' | 'expired' | 'failed' | 'cleaned_up';

/** One line in the audit channel per outcome (a batch: one line for the whole batch). */
export function auditLine(kind: AuditKind, request: RequestRecord, result?: RunResult, batch?: RunResult[]): Message {
  const link = requestLink(request);
  const name = `*${escapeClip(requestSubject(request), 200)}*${request.kind === 'batch' ? ` (${escapeClip(firstAndLast(request), 200)})` : ''}`;
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
    cleaned_up: `:wastebasket: ${name} partial VM${request.kind === 'batch' ? 's' : ''} deleted${keys}`,
    rejected: `:no_entry: ${name} rejected${request.reason ? ` (${escapeClip(request.reason, 300)})` : ''}`,
    cancelled: `:heavy_multiplication_x: ${name} cancelled`,
    expired: `:hourglass: ${name} expired without a decision`,
  };
  const text = `${lead[kind]} · ${escapeText(summarizeSpec(request.spec))}${request.kind === 'batch' ? ' each' : ''} · ${who} · ${link}`;
  return { text, blocks: [section(text)] };
}
