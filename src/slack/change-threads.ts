/**
 * Changes to the bot's VMs, shown: each applied or failed change is posted in the VM's thread (the
 * thread of the request that made it) and as one line in the audit channel; a change a lead
 * approved also gets its approval message decided and its requester told. The core's `VmChanges`
 * tells this observer; writes are queued on the notifier, never awaited before VergeOS work.
 */
import type { ChangeResult } from '../provision/provisioner.js';
import type { Requests } from '../requests/requests.js';
import type { RequestRecord, VmRecord } from '../store/records.js';
import type { Recipe } from '../vmspec/recipes.js';
import type { ChangeObserver } from '../workflows/vm-changes.js';
import type { HomeTabs } from './home-tabs.js';
import type { MessageRef, Notifier } from './notifier.js';
import { changeAppliedMessage, changeAuditLine, changeFailedMessage } from './views/change-messages.js';
import { escapeText } from './escape.js';
import { decidedRequest, requesterUpdate, type Message } from './views/messages.js';

export interface ChangeThreadDeps {
  requests: Requests;
  notifier: Notifier;
  auditChannel: string;
  vmApprovers: readonly string[];
  recipes?: readonly Recipe[] | undefined;
  homeTabs?: Pick<HomeTabs, 'vmChanged'> | undefined;
}

export class ChangeThreads implements ChangeObserver {
  constructor(private readonly deps: ChangeThreadDeps) {}

  async applied(result: ChangeResult, request?: RequestRecord): Promise<void> {
    const { notifier, auditChannel } = this.deps;
    const { vm } = result;
    this.deps.homeTabs?.vmChanged(vm);
    const shown = request?.change?.shown;
    await Promise.all([
      this.#inThread(vm, changeAppliedMessage(result, request)),
      notifier.post(auditChannel, changeAuditLine(vm, { entry: result.entry }, request)),
      ...this.#decided(
        request,
        `approved: ${escapeText(shown ?? 'the change')} — done${vm.needRestart ? ' (restart needed: it takes effect at its next power cycle)' : ''}.`,
      ),
    ]);
  }

  async failed(vm: VmRecord | undefined, message: string, request?: RequestRecord): Promise<void> {
    const { notifier, auditChannel } = this.deps;
    const writes: Array<Promise<unknown>> = [...this.#decided(request, `approved, but the change failed: ${escapeText(message)}`)];
    // The VM may be gone (an approved change to a VM deleted meanwhile): the request says so.
    if (vm)
      writes.push(
        this.#inThread(vm, changeFailedMessage(vm, message, request)),
        notifier.post(auditChannel, changeAuditLine(vm, { failed: message }, request)),
      );
    await Promise.all(writes);
  }

  /** A decided change request: its approval message without buttons, and its requester told. */
  #decided(request: RequestRecord | undefined, detail: string): Array<Promise<unknown>> {
    if (!request) return [];
    const { notifier, vmApprovers, recipes } = this.deps;
    return [
      ...(request.approvalMessage ? [notifier.update(request.approvalMessage, decidedRequest(request, vmApprovers, recipes))] : []),
      notifier.dm(request.requester, requesterUpdate(request, detail)),
    ];
  }

  /** Posted in the thread of the request that made the VM, if it has one. */
  async #inThread(vm: VmRecord, message: Message): Promise<MessageRef | undefined> {
    const thread = vm.requestId ? (await this.deps.requests.load(vm.requestId))?.approvalMessage : undefined;
    return thread ? this.deps.notifier.post(thread.channel, message, thread.ts) : undefined;
  }
}
