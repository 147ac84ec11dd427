/** The policy's part of an approval message: which rule decided, who must approve and who has, the quota lines. */
import type { types } from '@slack/bolt';
import type { RequestRecord } from '../../store/records.js';
import { clipMrkdwn, escapeText, mention } from '../escape.js';
import { mentionFrom } from '../mentions.js';
import { mrkdwn } from './message-parts.js';

/** The policy's part: which rule decided, who must approve and who has, the requester's quota use. */
export function policyBlock(request: RequestRecord, vmApprovers: readonly string[]): types.ContextBlock | undefined {
  const p = request.policy;
  if (!p) return undefined;
  const rule = `rule *${escapeText(p.rule)}* (policy ${escapeText(p.hash)})`;
  const head =
    p.decision === 'auto'
      ? `:robot_face: Approved without a click by ${rule}.`
      : `:busts_in_silhouette: ${rule}: needs ${p.count ?? 1} of ${p.approvers ?? mentionFrom(p.from ?? ['VM_APPROVERS'], vmApprovers)} — ${request.approvals.length} of ${p.count ?? 1} so far${request.approvals.length ? `: ${request.approvals.map((a) => mention(a.user)).join(', ')}` : ''}.`;
  return { type: 'context', elements: [mrkdwn(clipMrkdwn([head, ...p.quota.map((q) => escapeText(q))].join('\n'), 3000))] };
}
