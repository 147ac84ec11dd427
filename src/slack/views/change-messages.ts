/**
 * A change to a VM the bot made as people see it: the approval message when a lead must approve
 * it (before → after, the exact VergeOS calls), the VM's thread and the audit channel once it is
 * applied or has failed, and what the person who asked is told. Pure; all user text escaped.
 */
import type { ChangeResult } from '../../provision/provisioner.js';
import type { RequestRecord, VmRecord } from '../../store/records.js';
import { describeChange } from '../../vmchange/describe.js';
import type { ChangeEntry } from '../../vmchange/schema.js';
import { clip, clipMrkdwn, codeBlock, decider, escapeClip, escapeText, mention } from '../escape.js';
import { decisionBlocks, mrkdwn, requestLink, section, type Message } from './message-parts.js';
import { policyBlock } from './policy-block.js';

/** Said wherever a resize waits for the VM's next power cycle. */
export const RESTART_NEEDED = 'restart needed: the new size takes effect at its next power cycle';

/** The approval channel's message for a change a lead must approve. */
export function changeRequest(request: RequestRecord, vmApprovers: readonly string[]): Message {
  const asked = request.change!;
  const name = escapeClip(request.spec.vm.name, 200);
  const policy = policyBlock(request, vmApprovers);
  const warnings = request.warnings.map((w) => `:warning: ${escapeText(w)}`);
  return {
    text: `${request.id}: ${mention(request.requester)} asks to change VM ${name}: ${asked.shown}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(`${request.id}: change ${request.spec.vm.name}`, 150) } },
      section(`${mention(request.requester)} asks to change *${name}*. Nothing new is created; approving makes exactly these calls, once.`),
      section(`*Before → after*\n${escapeClip(asked.shown, 1000)}`),
      section(`*Calls* (the exact VergeOS calls, in order)\n${codeBlock(asked.calls.join('\n'), 2600)}`),
      ...(warnings.length ? [{ type: 'context' as const, elements: [mrkdwn(clipMrkdwn(warnings.join('\n'), 3000))] }] : []),
      ...(policy ? [policy] : []),
      ...decisionBlocks(request, {
        title: 'Approve this change?',
        text: `The bot will change ${escapeClip(request.spec.vm.name, 100)} in VergeOS now: ${escapeClip(asked.shown, 200)}`,
      }),
    ],
  };
}

/** What was changed, in words: as the lead was shown it (before → after), else from the ledger entry. */
function shownOf(entry: Pick<ChangeEntry, 'change'> | undefined, request: RequestRecord | undefined): string {
  return request?.change?.shown ?? (entry ? describeChange(entry.change) : 'a change');
}

/** Who allowed it: the lead who approved the request, or the policy rule. */
function allowedBy(entry: ChangeEntry, request: RequestRecord | undefined): string {
  if (request?.decidedBy) return `approved by ${decider(request.decidedBy)} (${requestLink(request)})`;
  return entry.approval ? `allowed by ${escapeText(entry.approval)}` : 'by the operator';
}

/** In the VM's thread: a change was applied. */
export function changeAppliedMessage(result: ChangeResult, request?: RequestRecord): Message {
  const { vm, entry } = result;
  const shown = shownOf(entry, request);
  const lines = [
    `:wrench: *${escapeClip(vm.name, 128)}*: ${escapeClip(shown, 1000)} — done, asked by ${mention(entry.actor)}, ${allowedBy(entry, request)}.`,
    ...(entry.reconciled ? ['VergeOS’s answer was lost; the bot looked and found it done (nothing was sent twice).'] : []),
    ...(vm.needRestart ? [`:arrows_counterclockwise: ${RESTART_NEEDED}.`] : []),
  ];
  return { text: `${vm.name}: ${shown} — done${vm.needRestart ? ` (${RESTART_NEEDED})` : ''}`, blocks: [section(lines.join('\n'))] };
}

/** The failed entry a failure message is about (the newest with that sentence). */
function failedEntry(vm: VmRecord, message: string): ChangeEntry | undefined {
  return [...(vm.changes ?? [])].reverse().find((e) => e.status === 'failed' && e.error?.message === message);
}

/** In the VM's thread: a change failed, with VergeOS's (or the bot's) reason. */
export function changeFailedMessage(vm: VmRecord, message: string, request?: RequestRecord): Message {
  const shown = shownOf(failedEntry(vm, message), request);
  const text = `:x: *${escapeClip(vm.name, 128)}*: ${escapeClip(shown, 1000)} — failed: ${escapeClip(message, 1000)}`;
  return { text: `${vm.name}: ${shown} — failed: ${message}`, blocks: [section(text)] };
}

/** The audit channel's one line for a change applied or failed. */
export function changeAuditLine(vm: VmRecord, outcome: { entry: ChangeEntry } | { failed: string }, request?: RequestRecord): Message {
  const name = `*${escapeClip(vm.name, 128)}*`;
  const keys = `VM key ${vm.keys.vmKey}`;
  if ('failed' in outcome) {
    const entry = failedEntry(vm, outcome.failed);
    const who = entry ? ` · asked by ${mention(entry.actor)}` : '';
    const text = `:x: ${name} change failed: ${escapeClip(shownOf(entry, request), 500)} (${escapeClip(outcome.failed, 500)})${who} · ${keys}${request ? ` · ${requestLink(request)}` : ''}`;
    return { text, blocks: [section(text)] };
  }
  const { entry } = outcome;
  const text = `:wrench: ${name} changed: ${escapeClip(shownOf(entry, request), 500)} · asked by ${mention(entry.actor)}, ${allowedBy(entry, request)} · ${keys}${vm.needRestart ? ` · ${RESTART_NEEDED}` : ''}`;
  return { text, blocks: [section(text)] };
}

/** What the person who asked is told: done now (before → after). */
export function changeDoneReply(vmName: string, shown: string, needRestart: boolean, warnings: readonly string[]): Message {
  const lines = [
    `:white_check_mark: *${escapeClip(vmName, 128)}*: ${escapeClip(shown, 1000)} — done.`,
    ...(needRestart ? [`:arrows_counterclockwise: ${RESTART_NEEDED}.`] : []),
    ...warnings.filter((w) => !/restart needed/.test(w)).map((w) => `:warning: ${escapeText(w)}`),
  ];
  return { text: `${vmName}: ${shown} — done${needRestart ? ` (${RESTART_NEEDED})` : ''}.`, blocks: [section(lines.join('\n'))] };
}

/** … or asked of a lead. */
export function changeRequestedReply(vmName: string, request: RequestRecord, created: boolean): Message {
  const shown = request.change?.shown ?? 'the change';
  const text = created
    ? `*${escapeClip(vmName, 128)}*: ${escapeClip(shown, 1000)} needs a lead's approval (rule ${escapeText(request.policy?.rule ?? 'default')}): ${requestLink(request)} asks them. Nothing is changed until a lead approves; you will hear when it is decided.`
    : `${requestLink(request)} already asks a lead to approve this change of *${escapeClip(vmName, 128)}*; nothing more was asked.`;
  return { text, blocks: [section(text)] };
}

/** … or it failed (VergeOS refused it, or another change was under way). */
export function changeFailedReply(vmName: string, shown: string, message: string): Message {
  const text = `:x: *${escapeClip(vmName, 128)}*: ${escapeClip(shown, 1000)} — not done: ${escapeClip(message, 1000)}`;
  return { text, blocks: [section(text)] };
}
