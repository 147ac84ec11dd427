/** `/vm-create mine`: a user's VMs with live status, their size now, and buttons (the changes in a "More…" menu). Pure. */
import type { types } from '@slack/bolt';
import { summarizeSpec } from '../../plan/render.js';
import type { VmRecord } from '../../store/records.js';
import { clipMrkdwn, escapeClip, escapeText, slackDate } from '../escape.js';
import type { LeaseEvent } from '../../leases/leases.js';
import { formatDuration } from '../../vmspec/units.js';
import { button, type Message } from './messages.js';
import { section } from './message-parts.js';
import { consoleUrl } from '../../vergeos/console-link.js';
import { RESTART_NEEDED } from './change-messages.js';
import { moreMenu } from './vm-change-forms.js';

/**
 * How to reach a VM, in mrkdwn: each NIC's address once VergeOS reported it, and its console in
 * the VergeOS UI. `waiting`: the bot is still asking (a VM just made), said instead of "unknown".
 */
export function reachText(vm: Pick<VmRecord, 'network' | 'spec' | 'keys'>, vergeosUrl: string | undefined, waiting = false): string {
  const known = vm.network?.nics ?? [];
  const names = known.length ? known.map((n) => n.name) : vm.spec.nics.map((n, i) => n.name ?? `nic_${i}`);
  const addresses = names.map((name) => {
    const address = known.find((n) => n.name === name)?.ipaddress;
    return `${escapeClip(name, 64)} ${address ? `\`${escapeText(address)}\`` : waiting ? '(address once VergeOS reports it)' : '(no address reported)'}`;
  });
  return [...addresses, ...(vergeosUrl ? [`<${consoleUrl(vergeosUrl, vm.keys.vmKey)}|console>`] : [])].join(' · ');
}

/** In the request's thread: VergeOS reported the VM's addresses. */
export function reachableMessage(vm: VmRecord, vergeosUrl: string | undefined): Message {
  const plain = (vm.network?.nics ?? []).map((n) => `${n.name} ${n.ipaddress ?? '(none)'}`).join(', ');
  return { text: `${vm.name} is reachable: ${plain}`, blocks: [section(`:globe_with_meridians: *${escapeClip(vm.name, 128)}*: ${reachText(vm, vergeosUrl)}`)] };
}

export const VM_ACTIONS = { powerOn: 'vm_power_on', powerOff: 'vm_power_off', delete: 'vm_delete', extend: 'lease_extend' } as const;

/** At most this many VMs with buttons in one message (two blocks each, within Slack's 50). */
const SHOWN = 20;
/**
 * Block JSON the VMs may take in one message, within Slack's undocumented ~12 k (`msg_blocks_too_long`)
 * with room for the header and the "…and N more" line: a VM with its buttons and menu takes ~1.8 k.
 */
const VMS_ROOM = 11_000;

export interface VmEntry {
  vm: VmRecord;
  /** VergeOS's power state now, when it answered. */
  status?: string | undefined;
}

/** `vergeosUrl`: where the console links point. */
export function myVmsMessage(entries: VmEntry[], whose: string, vergeosUrl: string | undefined): Message {
  if (!entries.length)
    return {
      text: `${whose} no VMs made through the bot.`,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${whose} no VMs made through the bot. \`/vm-create\` asks for one.` } }],
    };
  const blocks: types.KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: `VMs (${entries.length})` } }];
  let shown = 0;
  let room = VMS_ROOM;
  for (const entry of entries.slice(0, SHOWN)) {
    const its = vmBlocks(entry, vergeosUrl);
    room -= JSON.stringify(its).length;
    if (room < 0) break;
    blocks.push(...its);
    shown++;
  }
  if (entries.length > shown)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${entries.length - shown} more; \`vmbot vms\` lists every one.` }] });
  return { text: `${entries.length} VM(s)`, blocks };
}

/** One VM in the list: its line, and (unless deleted outside the bot) its buttons and "More…" menu. */
function vmBlocks({ vm, status }: VmEntry, vergeosUrl: string | undefined): types.KnownBlock[] {
  const blocks: types.KnownBlock[] = [];
  const state = vm.state === 'gone' ? 'deleted outside the bot' : (status ?? 'state unknown (VergeOS did not answer)');
  const lease = vm.lease?.endsAt ? ` · ${vm.lease.expiredAt ? 'lease ended' : 'kept until'} ${slackDate(vm.lease.endsAt)}` : '';
  const request = vm.requestId ? ` · ${vm.requestId}` : '';
  const restart = vm.needRestart && vm.state === 'live' ? ` · :arrows_counterclockwise: ${RESTART_NEEDED}` : '';
  blocks.push({
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: clipMrkdwn(
        `*${escapeClip(vm.name, 128)}* · ${escapeText(state)} · VM key ${vm.keys.vmKey} / machine key ${vm.keys.machineKey}${lease} · ${escapeText(summarizeSpec(vm.spec))}${restart}${request}${vm.state === 'gone' ? '' : `\n${reachText(vm, vergeosUrl)}`}`,
        3000,
      ),
    },
  });
  if (vm.state === 'gone') return blocks;
  const running = status === 'running' || status === 'starting';
  blocks.push({
    type: 'actions',
    block_id: `vm.${vm.runId}`,
    elements: [
      running ? button(VM_ACTIONS.powerOff, 'Power off', vm.runId) : button(VM_ACTIONS.powerOn, 'Power on', vm.runId, 'primary'),
      ...(vm.lease?.endsAt ? [button(VM_ACTIONS.extend, `Extend by ${formatDuration(vm.lease.forMs)}`, vm.runId)] : []),
      {
        ...button(VM_ACTIONS.delete, 'Delete', vm.runId, 'danger'),
        confirm: {
          title: { type: 'plain_text', text: 'Delete this VM?' },
          text: {
            type: 'mrkdwn',
            text: `${escapeClip(vm.name, 128)} is powered off if running, then deleted with its drives, NICs and devices. This cannot be undone.`,
          },
          confirm: { type: 'plain_text', text: 'Delete' },
          deny: { type: 'plain_text', text: 'Back' },
        },
      },
      // Resize, drives, NICs, snapshots: one menu, so each VM stays two blocks.
      ...(vm.state === 'live' ? [moreMenu(vm.runId)] : []),
    ],
  });
  return blocks;
}

/** The owner's DM when a lease runs out: what happens when, with Extend and Delete now. */
export function leaseNotice(event: LeaseEvent, graceMs: number): Message {
  const vm = event.vm;
  const name = `*${escapeClip(vm.name, 128)}* (VM key ${vm.keys.vmKey})`;
  const extendBy = vm.lease ? formatDuration(vm.lease.forMs) : undefined;
  const plainName = `${vm.name} (VM key ${vm.keys.vmKey})`;
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
        block_id: `lease.${vm.runId}`,
        elements: [
          ...(extendBy ? [button(VM_ACTIONS.extend, `Extend by ${extendBy}`, vm.runId, 'primary')] : []),
          {
            ...button(VM_ACTIONS.delete, 'Delete now', vm.runId, 'danger'),
            confirm: {
              title: { type: 'plain_text', text: 'Delete this VM now?' },
              text: { type: 'mrkdwn', text: `${escapeClip(vm.name, 128)} is deleted with its drives, NICs and devices.` },
              confirm: { type: 'plain_text', text: 'Delete' },
              deny: { type: 'plain_text', text: 'Back' },
            },
          },
        ],
      },
    ],
  };
}
