/** `/vm-create mine`: a user's VMs with live status and buttons. Pure. */
import type { types } from '@slack/bolt';
import { summarizeSpec } from '../../plan/render.js';
import type { RunRecord } from '../../store/records.js';
import { clip, escapeClip, escapeText } from '../escape.js';
import type { Message } from './messages.js';

export const VM_ACTIONS = { powerOn: 'vm_power_on', powerOff: 'vm_power_off', delete: 'vm_delete' } as const;

/** At most this many VMs with buttons in one message (two blocks each, within Slack's 50). */
const SHOWN = 20;

export interface VmEntry {
  run: RunRecord;
  /** VergeOS's power state now, when it answered. */
  status?: string | undefined;
}

const button = (action_id: string, label: string, value: string, style?: 'primary' | 'danger'): types.Button => ({ type: 'button', action_id, value, text: { type: 'plain_text', text: label }, ...(style ? { style } : {}) });

export function myVmsMessage(entries: VmEntry[], whose: string): Message {
  if (!entries.length) return { text: `${whose} no VMs made through the bot.`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${whose} no VMs made through the bot. \`/vm-create\` asks for one.` } }] };
  const blocks: types.KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: `VMs (${entries.length})` } }];
  for (const { run, status } of entries.slice(0, SHOWN)) {
    const state = run.goneAt ? 'deleted outside the bot' : (status ?? 'state unknown (VergeOS did not answer)');
    const request = run.requestId ? ` · ${run.requestId}` : '';
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`*${escapeClip(run.spec.vm.name, 128)}* · ${escapeText(state)} · VM key ${run.keys.vmKey} / machine key ${run.keys.machineKey} · ${escapeText(summarizeSpec(run.spec))}${request}`, 3000) } });
    if (run.goneAt) continue;
    const running = status === 'running' || status === 'starting';
    blocks.push({
      type: 'actions',
      block_id: `vm.${run.id}`,
      elements: [
        running ? button(VM_ACTIONS.powerOff, 'Power off', run.id) : button(VM_ACTIONS.powerOn, 'Power on', run.id, 'primary'),
        {
          ...button(VM_ACTIONS.delete, 'Delete', run.id, 'danger'),
          confirm: {
            title: { type: 'plain_text', text: 'Delete this VM?' },
            text: { type: 'mrkdwn', text: `${escapeClip(run.spec.vm.name, 128)} is powered off if running, then deleted with its drives, NICs and devices. This cannot be undone.` },
            confirm: { type: 'plain_text', text: 'Delete' },
            deny: { type: 'plain_text', text: 'Back' },
          },
        },
      ],
    });
  }
  if (entries.length > SHOWN) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${entries.length - SHOWN} more; \`vmbot vms\` lists every one.` }] });
  return { text: `${entries.length} VM(s)`, blocks };
}
