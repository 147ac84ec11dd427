/** `/vm-create mine`: a user's VMs with live status and buttons. Pure. */
import type { types } from '@slack/bolt';
import { summarizeSpec } from '../../plan/render.js';
import type { RunRecord } from '../../store/records.js';
import { clipMrkdwn, escapeClip, escapeText, slackDate } from '../escape.js';
import type { LeaseEvent } from '../../leases/leases.js';
import { formatDuration } from '../../vmspec/units.js';
import { button, type Message } from './messages.js';

export const VM_ACTIONS = { powerOn: 'vm_power_on', powerOff: 'vm_power_off', delete: 'vm_delete', extend: 'lease_extend' } as const;

/** At most this many VMs with buttons in one message (two blocks each, within Slack's 50). */
const SHOWN = 20;

export interface VmEntry {
  run: RunRecord;
  /** VergeOS's power state now, when it answered. */
  status?: string | undefined;
}

export function myVmsMessage(entries: VmEntry[], whose: string): Message {
  if (!entries.length)
    return {
      text: `${whose} no VMs made through the bot.`,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${whose} no VMs made through the bot. \`/vm-create\` asks for one.` } }],
    };
  const blocks: types.KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: `VMs (${entries.length})` } }];
  for (const { run, status } of entries.slice(0, SHOWN)) {
    const state = run.goneAt ? 'deleted outside the bot' : (status ?? 'state unknown (VergeOS did not answer)');
    const lease = run.lease?.endsAt ? ` · ${run.lease.expiredAt ? 'lease ended' : 'kept until'} ${slackDate(run.lease.endsAt)}` : '';
    const request = run.requestId ? ` · ${run.requestId}` : '';
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clipMrkdwn(
          `*${escapeClip(run.spec.vm.name, 128)}* · ${escapeText(state)} · VM key ${run.keys.vmKey} / machine key ${run.keys.machineKey}${lease} · ${escapeText(summarizeSpec(run.spec))}${request}`,
          3000,
        ),
      },
    });
    if (run.goneAt) continue;
    const running = status === 'running' || status === 'starting';
    blocks.push({
      type: 'actions',
      block_id: `vm.${run.id}`,
      elements: [
        running ? button(VM_ACTIONS.powerOff, 'Power off', run.id) : button(VM_ACTIONS.powerOn, 'Power on', run.id, 'primary'),
        ...(run.lease?.endsAt ? [button(VM_ACTIONS.extend, `Extend by ${formatDuration(run.lease.forMs)}`, run.id)] : []),
        {
          ...button(VM_ACTIONS.delete, 'Delete', run.id, 'danger'),
          confirm: {
            title: { type: 'plain_text', text: 'Delete this VM?' },
            text: {
              type: 'mrkdwn',
              text: `${escapeClip(run.spec.vm.name, 128)} is powered off if running, then deleted with its drives, NICs and devices. This cannot be undone.`,
            },
            confirm: { type: 'plain_text', text: 'Delete' },
            deny: { type: 'plain_text', text: 'Back' },
          },
        },
      ],
    });
  }
  if (entries.length > SHOWN)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${entries.length - SHOWN} more; \`vmbot vms\` lists every one.` }] });
  return { text: `${entries.length} VM(s)`, blocks };
}

/** The owner's DM when a lease runs out: what happens when, with Extend and Delete now. */
export function leaseNotice(event: LeaseEvent, graceMs: number): Message {
  const run = event.run;
  const name = `*${escapeClip(run.spec.vm.name, 128)}* (VM key ${run.keys.vmKey})`;
  const extendBy = run.lease ? formatDuration(run.lease.forMs) : undefined;
  const plainName = `${run.spec.vm.name} (VM key ${run.keys.vmKey})`;
  let text: string;
  let plain: string;
  if (event.type === 'reminder') {
    const when = `in ${formatDuration(Math.round(event.inMs / 3_600_000) * 3_600_000)}`;
    text = `:hourglass: Your VM ${name} is kept until ${slackDate(event.endsAt)}, ${when}. Then it is powered off, and deleted ${formatDuration(graceMs)} later.`;
    plain = `Your VM ${plainName} is kept until ${event.endsAt}, ${when}.`;
  } else if (event.type === 'expired') {
    text = `:hourglass: Your VM ${name} was powered off: its lease ended. It is deleted ${slackDate(event.deleteAt)} unless you extend it.`;
    plain = `Your VM ${plainName} was powered off: its lease ended. It is deleted ${event.deleteAt} unless you extend it.`;
  } else if (event.type === 'deleted') {
    return {
      text: `Your VM ${plainName} was deleted: its lease ended.`,
      blocks: [
        {
          type: 'section',
          text: { type: 'mrkdwn', text: `:wastebasket: Your VM ${name} was deleted with its drives, NICs and devices: its lease ended and was not extended.` },
        },
      ],
    };
  } else {
    return {
      text: `Deleting ${plainName} at the end of its lease failed; the bot tries again.`,
      blocks: [
        {
          type: 'section',
          text: { type: 'mrkdwn', text: `:warning: Deleting ${name} at the end of its lease failed (${escapeText(event.message)}); the bot tries again.` },
        },
      ],
    };
  }
  return {
    text: plain,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      {
        type: 'actions',
        block_id: `lease.${run.id}`,
        elements: [
          ...(extendBy ? [button(VM_ACTIONS.extend, `Extend by ${extendBy}`, run.id, 'primary')] : []),
          {
            ...button(VM_ACTIONS.delete, 'Delete now', run.id, 'danger'),
            confirm: {
              title: { type: 'plain_text', text: 'Delete this VM now?' },
              text: { type: 'mrkdwn', text: `${escapeClip(run.spec.vm.name, 128)} is deleted with its drives, NICs and devices.` },
              confirm: { type: 'plain_text', text: 'Delete' },
              deny: { type: 'plain_text', text: 'Back' },
            },
          },
        ],
      },
    ],
  };
}
