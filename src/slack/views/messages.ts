/**
 * Messages the bot posts, by what they render: the approval request and its decided form
 * (approval-message.ts), the run's thread (thread-messages.ts), the audit-channel line
 * (audit-line.ts) and the requester's DMs (requester-messages.ts). Pure functions; all user text
 * escaped.
 */
export { APPROVAL_ACTIONS, button, say, type Message } from './message-parts.js';
export { approvalRequest, decidedRequest, leaseLine } from './approval-message.js';
export { requesterReceipt, requesterUpdate } from './requester-messages.js';
export {
  batchFailureMessage,
  batchProgressMessage,
  batchSummaryMessages,
  failureMessage,
  failureResolved,
  progressMessage,
  stepLine,
  summaryMessage,
  type BatchCounts,
} from './thread-messages.js';
export { auditLine, type AuditKind } from './audit-line.js';
