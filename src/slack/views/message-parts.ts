/** What every message view is made of: the Message shape, the decision buttons' ids, and small Block Kit pieces. */
import type { types } from '@slack/bolt';
import { requestSpecs } from '../../requests/requests.js';
import type { RequestRecord } from '../../store/records.js';
import { clipMrkdwn, slackDate } from '../escape.js';

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

export const mrkdwn = (text: string): types.MrkdwnElement => ({ type: 'mrkdwn', text });

/** A one-section message from mrkdwn text (notes, refusals, audit lines). */
export const say = (text: string): Message => ({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
export const section = (text: string, block_id?: string): types.SectionBlock => ({
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
export function firstAndLast(request: RequestRecord): string {
  const specs = requestSpecs(request);
  return `${specs[0]!.vm.name} … ${specs.at(-1)!.vm.name}`;
}

/** The request's id, linked to its approval message once there is one. */
export const requestLink = (request: RequestRecord): string => (request.permalink ? `<${request.permalink}|${request.id}>` : request.id);

/**
 * The end of a request waiting for a decision: when it expires, then Approve (confirmed with
 * `confirm`'s title and sentence) and Reject.
 */
export function decisionBlocks(request: RequestRecord, confirm: { title: string; text: string }): types.KnownBlock[] {
  return [
    { type: 'context', elements: [mrkdwn(`Expires ${slackDate(request.expiresAt)} if nobody decides.`)] },
    {
      type: 'actions',
      block_id: `decide.${request.id}`,
      elements: [
        {
          ...button(APPROVAL_ACTIONS.approve, 'Approve', request.id, 'primary'),
          confirm: {
            title: { type: 'plain_text', text: confirm.title },
            text: mrkdwn(confirm.text),
            confirm: { type: 'plain_text', text: 'Approve' },
            deny: { type: 'plain_text', text: 'Back' },
          },
        },
        button(APPROVAL_ACTIONS.reject, 'Reject', request.id, 'danger'),
      ],
    },
  ];
}
