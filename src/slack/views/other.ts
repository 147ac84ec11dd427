/** The App Home tab, the reject-reason modal and the command's ephemeral replies. */
import type { types } from '@slack/bolt';
import { summarizeSpec } from '../../plan/render.js';
import { requestSubject } from '../../requests/requests.js';
import type { Recipe } from '../../vmspec/recipes.js';
import type { RequestRecord, VmRecord } from '../../store/records.js';
import { clip, decider, escapeClip, escapeText, slackDate } from '../escape.js';
import type { FormGate } from './form-gate.js';
import { moreMenu } from './vm-change-forms.js';
import { APPROVAL_ACTIONS, requestLink, section, type Message } from './message-parts.js';

export const REJECT_MODAL_CALLBACK = 'vm_reject';
export const REJECT_REASON_BLOCK = 'reason';
/** A lead's decision: who may reject is checked by its listener, not as a requester. */
export const REJECT_FORM_GATE: FormGate = { callbackId: REJECT_MODAL_CALLBACK, asks: 'decision' };

function requestLine(r: RequestRecord): string {
  const link = requestLink(r);
  return `${link} · *${escapeClip(requestSubject(r), 100)}* · ${r.state.replace('_', ' ')} · ${escapeText(summarizeSpec(r.spec))}${r.kind === 'batch' ? ' each' : ''} · ${slackDate(r.createdAt)}`;
}

/** One VM in the App Home: name, keys, lease, and its size now. */
function vmLine(r: VmRecord): string {
  const lease =
    r.state === 'gone'
      ? 'deleted outside the bot'
      : r.lease?.endsAt
        ? `${r.lease.expiredAt ? 'lease ended' : 'kept until'} ${slackDate(r.lease.endsAt)}`
        : 'kept until deleted';
  return `*${escapeClip(r.name, 128)}* · VM key ${r.keys.vmKey} / machine key ${r.keys.machineKey} · ${lease} · ${escapeText(summarizeSpec(r.spec))}${r.needRestart && r.state === 'live' ? ' · restart needed' : ''}`;
}

/** How many VMs the tab lists, each with its "More…" menu while live. */
const HOME_VMS = 20;

/** One section per VM (a live one with its "More…" menu: resize, drives, NICs, snapshots). */
function vmBlocks(vms: VmRecord[]): types.KnownBlock[] {
  const more = vms.length > HOME_VMS ? `…and ${vms.length - HOME_VMS} more. ` : '';
  return [
    ...vms.slice(0, HOME_VMS).map((vm): types.SectionBlock => ({ ...section(vmLine(vm)), ...(vm.state === 'live' ? { accessory: moreMenu(vm.runId) } : {}) })),
    { type: 'context', elements: [{ type: 'mrkdwn', text: `${more}_Live state and buttons: \`/vm-create mine\`._` }] },
  ];
}

export function homeView(user: string, mine: RequestRecord[], pendingForLead: RequestRecord[] | undefined, vms: VmRecord[] = []): types.HomeView {
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: 'VergeOS VMs' } },
    section('Type `/vm-create` to request a VM, `/vm-create mine` to act on yours, or `/vm-create help` for everything else.'),
    { type: 'divider' },
    { type: 'header', text: { type: 'plain_text', text: `Your VMs (${vms.length})` } },
    ...(vms.length ? vmBlocks(vms) : [section('_None yet._')]),
    { type: 'divider' },
    { type: 'header', text: { type: 'plain_text', text: 'Your requests' } },
  ];
  const recent = mine.slice(0, HOME_SHOWS);
  blocks.push(section(recent.length ? recent.map(requestLine).join('\n') : '_None yet._'));
  if (pendingForLead) {
    blocks.push({ type: 'divider' }, { type: 'header', text: { type: 'plain_text', text: `Waiting for approval (${pendingForLead.length})` } });
    if (!pendingForLead.length) blocks.push(section('_Nothing to decide._'));
    for (const r of pendingForLead.slice(0, 20)) {
      blocks.push(section(`${requestLine(r)}\nasked by <@${r.requester}>${r.warnings.length ? ` · :warning: ${r.warnings.length} warning(s)` : ''}`));
      const actions: types.Button[] = [
        { type: 'button', action_id: APPROVAL_ACTIONS.reject, value: r.id, style: 'danger', text: { type: 'plain_text', text: 'Reject' } },
      ];
      if (r.requester !== user)
        actions.unshift({ type: 'button', action_id: APPROVAL_ACTIONS.approve, value: r.id, style: 'primary', text: { type: 'plain_text', text: 'Approve' } });
      blocks.push({ type: 'actions', block_id: `home.${r.id}`, elements: actions });
    }
  }
  return { type: 'home', blocks: blocks.slice(0, 100) };
}

export function rejectModal(requestId: string, vmName: string): types.ModalView {
  return {
    type: 'modal',
    callback_id: REJECT_MODAL_CALLBACK,
    private_metadata: requestId,
    title: { type: 'plain_text', text: clip(`Reject ${requestId}`, 24) },
    submit: { type: 'plain_text', text: 'Reject' },
    close: { type: 'plain_text', text: 'Back' },
    blocks: [
      section(`Rejecting the request for *${escapeClip(vmName, 200)}*. The requester will see your reason.`),
      {
        type: 'input',
        block_id: REJECT_REASON_BLOCK,
        label: { type: 'plain_text', text: 'Reason' },
        element: {
          type: 'plain_text_input',
          action_id: 'value',
          multiline: true,
          max_length: 500,
          placeholder: { type: 'plain_text', text: 'e.g. use the existing staging VM' },
        },
      },
    ],
  };
}

export function helpMessage(recipes: Recipe[]): Message {
  const list = recipes.map((r) => `• \`${r.id}\` — ${escapeText(r.title)}${r.description ? `: ${escapeText(r.description)}` : ''}`).join('\n');
  const text = [
    '*Request a VergeOS VM*',
    '• `/vm-create` — open the request form',
    '• `/vm-create RECIPE [NAME]` — the form, filled from a recipe',
    '• `/vm-create list` — your requests and their state',
    '• `/vm-create mine` — your VMs, live from VergeOS, with Power on/off, Delete, and More… (resize, disks, NICs, snapshots)',
    '• `/vm-create status REQ-n` — one request in detail',
    '• `/vm-create help` — this help',
    'A lead approves or rejects in the approval channel; the bot then builds the VM and reports every key in the thread.',
    `*Recipes*\n${list || '_none_'}`,
  ].join('\n');
  return { text: 'How to use /vm-create', blocks: [section(text)] };
}

/** How many requests `/vm-create list` shows (newest first). */
export const LIST_SHOWS = 20;
/** How many of their requests a tab shows. */
export const HOME_SHOWS = 15;

/** `requests`: the newest, newest first; `total`: how many there are in all. */
export function listMessage(requests: RequestRecord[], total = requests.length): Message {
  const text = requests.length
    ? `*Your requests*\n${requests.slice(0, LIST_SHOWS).map(requestLine).join('\n')}${total > LIST_SHOWS ? `\n_…and ${total - LIST_SHOWS} older._` : ''}`
    : 'You have no requests yet. `/vm-create` opens the form.';
  return { text: total ? `You have ${total} request(s).` : 'You have no requests yet.', blocks: [section(text)] };
}

export function statusMessage(r: RequestRecord, detail: { keys?: string | undefined; error?: string | undefined }): Message {
  const lines = [
    requestLine(r),
    `asked by <@${r.requester}>${r.decidedBy ? ` · decided by ${decider(r.decidedBy)} ${slackDate(r.decidedAt!)}` : ''}`,
    r.state === 'pending' ? `expires ${slackDate(r.expiresAt)}` : '',
    r.reason ? `reason: ${escapeClip(r.reason, 500)}` : '',
    detail.keys ?? '',
    detail.error ? `:x: ${escapeText(detail.error)}` : '',
  ].filter(Boolean);
  return { text: `${r.id}: ${r.state}`, blocks: [section(lines.join('\n'))] };
}

export function unknownMessage(what: string, recipes: Recipe[]): Message {
  const text = `${what}\nSubcommands: \`help\`, \`list\`, \`mine\`, \`status REQ-n\`. Recipes: ${recipes.map((r) => `\`${r.id}\``).join(', ') || '_none_'}. Or just \`/vm-create\` for an empty form.`;
  return { text, blocks: [section(text)] };
}

/** A form that did not open (views.open / views.push), told in the user's terms; `code`: Slack's error, undefined if unreachable. */
export function viewNotOpened(what: string, code: string | undefined): Message {
  const text = !code
    ? `I could not open ${what}: Slack did not answer. Nothing was changed; try again.`
    : /_trigger_id$/.test(code)
      ? `I could not open ${what}: Slack allows 3 seconds to open it and they ran out. Nothing was changed; try again.`
      : code === 'ratelimited'
        ? `I could not open ${what}: Slack is busy right now. Nothing was changed; try again in a few seconds.`
        : `I could not open ${what}: Slack refused it (\`${escapeText(code)}\`). Nothing was changed; try again, and tell an admin if it keeps happening.`;
  return { text, blocks: [section(text)] };
}
