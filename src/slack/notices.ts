/**
 * What the background sweeps find, told in Slack: a request decided after waiting for
 * pre-flight (announced like a new one), an expired request (its approval message, the audit
 * channel, the requester), lease notices (the owner, and the audit channel for power-offs and
 * deletions) and VMs deleted outside the bot. App Home follows each change.
 */
import type { LeaseEvent } from '../leases/leases.js';
import type { RequestRecord, VmRecord } from '../store/records.js';
import type { GoneVm } from '../provision/provisioner.js';
import type { SweepObserver } from '../workflows/sweeps.js';
import { announceFiled } from './announce.js';
import type { BotContext } from './context.js';
import { escapeText } from './escape.js';
import { auditLine, decidedRequest, requesterUpdate, say } from './views/messages.js';
import { leaseNotice, reachableMessage } from './views/vms.js';

/** A Slack user id (the CLI's `cli:alice` owners get no DM). */
const SLACK_USER = /^[UW][A-Z0-9]+$/;

/** `<@U…>` for a Slack user, the name as written for anyone else. */
export function ownerMention(owner: string): string {
  return /^[UW]/.test(owner) ? `<@${owner}>` : escapeText(owner);
}

export class SlackNotices implements SweepObserver {
  constructor(private readonly ctx: BotContext) {}

  decided(request: RequestRecord): Promise<void> {
    return announceFiled(this.ctx, request);
  }

  async expired(request: RequestRecord): Promise<void> {
    const { notifier, env, recipes, auditChannel } = this.ctx;
    if (request.approvalMessage) await notifier.update(request.approvalMessage, decidedRequest(request, env.VM_APPROVERS, recipes));
    await notifier.post(auditChannel, auditLine('expired', request));
    await notifier.dm(request.requester, requesterUpdate(request, 'expired: no lead decided in time. Submit it again if you still need it.'));
  }

  async leaseNotice(event: LeaseEvent): Promise<void> {
    const { notifier, leases, auditChannel, homeTabs } = this.ctx;
    const owner = event.vm.owner;
    if (SLACK_USER.test(owner)) await notifier.dm(owner, leaseNotice(event, leases.graceMs));
    if (event.type === 'expired' || event.type === 'deleted') {
      const [emoji, what] =
        event.type === 'expired' ? [':hourglass:', 'powered off at the end of its lease'] : [':wastebasket:', 'deleted at the end of its lease'];
      const line = `${emoji} *${escapeText(event.vm.name)}* ${what} · VM key ${event.vm.keys.vmKey} / machine key ${event.vm.keys.machineKey} · owner <@${owner}>${event.vm.requestId ? ` · ${event.vm.requestId}` : ''}`;
      await notifier.post(auditChannel, say(line));
    }
    homeTabs.vmChanged(event.vm);
  }

  /** A new VM's addresses, in its request's thread (a VM made from the CLI has none: its owner's App Home shows them). */
  async vmReachable(vm: VmRecord): Promise<void> {
    const { notifier, requests, homeTabs, env } = this.ctx;
    homeTabs.vmChanged(vm);
    const thread = vm.requestId ? requests.find(vm.requestId)?.approvalMessage : undefined;
    if (thread) await notifier.post(thread.channel, reachableMessage(vm, env.VERGEOS_URL), thread.ts);
  }

  async vmGone(vm: GoneVm): Promise<void> {
    const { notifier, auditChannel, homeTabs } = this.ctx;
    homeTabs.vmChanged(vm);
    const owner = vm.owner;
    const line = `:ghost: *${escapeText(vm.name)}* was deleted outside the bot · VM key ${vm.keys.vmKey} / machine key ${vm.keys.machineKey} · owner ${ownerMention(owner)}${vm.requestId ? ` · ${vm.requestId}` : ''}`;
    await notifier.post(auditChannel, say(line));
    if (!SLACK_USER.test(owner)) return;
    const text = `Your VM ${vm.name} was deleted outside the bot; it no longer counts against your quota.`;
    const shown = `:ghost: Your VM *${escapeText(vm.name)}* (VM key ${vm.keys.vmKey}) was deleted outside the bot; it no longer counts against your quota.`;
    await notifier.dm(owner, { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: shown } }] });
  }
}
