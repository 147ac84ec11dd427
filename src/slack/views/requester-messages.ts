/** The requester's DMs about a request: the receipt with its Cancel button, and each update after. */
import { requestSubject } from '../../requests/requests.js';
import type { RequestRecord } from '../../store/records.js';
import { escapeClip } from '../escape.js';
import { APPROVAL_ACTIONS, button, requestLink, section, type Message } from './message-parts.js';

export function requesterReceipt(request: RequestRecord): Message {
  const link = requestLink(request);
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
  const link = requestLink(request);
  const text = `${link} (${escapeClip(requestSubject(request), 200)}): ${detail}`;
  return { text, blocks: [section(text)] };
}
