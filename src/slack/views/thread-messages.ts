/**
 * A run's messages in the approval message's thread: progress (one VM's steps, or a batch's
 * counts), the summary with every key, and failure with lead-only Retry and Delete.
 */
import { consoleUrl } from '../../vergeos/console-link.js';
import type { RunEvent } from '../../provision/provisioner.js';
import type { RunResult } from '../../provision/result.js';
import { requestSubject } from '../../requests/requests.js';
import type { RequestRecord } from '../../store/records.js';
import { clipMrkdwn, escapeClip, escapeText } from '../escape.js';
import { APPROVAL_ACTIONS, button, mrkdwn, section, type Message } from './message-parts.js';

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

/** `vergeosUrl`: where its console link points (none without it). */
export function summaryMessage(request: RequestRecord, result: RunResult, vergeosUrl?: string): Message {
  const keys = [
    `VM key *${result.vmKey}*, machine key *${result.machineKey}*`,
    ...result.drives.map((d) => `drive "${escapeClip(d.name, 100)}": *${d.key}*`),
    ...result.nics.map((n) => `NIC "${escapeClip(n.name, 100)}": *${n.key}*`),
    ...result.devices.map((d) => `device: *${d.key}*${d.uuid ? ` (uuid ${d.uuid})` : ''}`),
    `power: ${result.poweredOn ? 'on' : 'off'}`,
    ...(vergeosUrl && result.vmKey ? [`console: <${consoleUrl(vergeosUrl, result.vmKey)}|open in VergeOS>`] : []),
    ...(result.nics.length && result.poweredOn ? ['addresses: posted here once VergeOS reports them'] : []),
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

export function stepLine(
  event: Pick<Extract<RunEvent, { type: 'step_done' }>, 'index' | 'total' | 'description' | 'key' | 'vmKey' | 'machineKey'> & { reconciled?: boolean },
): string {
  const keys = event.vmKey ? ` → VM key *${event.vmKey}*, machine key *${event.machineKey}*` : event.key ? ` → key *${event.key}*` : '';
  return `:white_check_mark: ${event.index + 1}/${event.total} ${escapeText(event.description)}${keys}${event.reconciled ? ' _(found by lookup)_' : ''}`;
}
