/** `/vm-create [RECIPE [NAME] | help | list | mine | status REQ-n]`. The modal opens within Slack's 3 s. */
import { runResult } from '../../../provision/result.js';
import type { BotContext } from '../../context.js';
import { escapeText } from '../../escape.js';
import { quotaNote } from '../../policy.js';
import { helpMessage, LIST_SHOWS, listMessage, statusMessage, unknownMessage, viewNotOpened } from '../../views/other.js';
import { myVmsMessage } from '../../views/vms.js';
import { maySee } from '../../visibility.js';
import { SlackApiError } from '../../web-api.js';
import type { CommandArgs } from '../args.js';
import { openingModals } from './opening-modal.js';
import { isRetryable } from '../../../store/run-states.js';
import type { VmRecord } from '../../../store/records.js';
import { withPurpose } from '../../../vergeos/purpose.js';

export const COMMAND = '/vm-create';

/** The power state of each of these VMs that still exists, by machine key, in one VergeOS call. */
async function liveStatuses(ctx: BotContext, vms: readonly VmRecord[]): Promise<Map<string, string>> {
  const machines = vms.flatMap((vm) => (vm.state !== 'gone' && vm.keys.machineKey ? [vm.keys.machineKey] : []));
  const rows = machines.length ? await ctx.vergeos.machineStatuses(machines).catch(() => []) : [];
  return new Map(rows.map((row) => [row.machineKey, row.status]));
}

/** The command's handler; it keeps the opening forms it rendered (see opening-modal.ts). */
export function vmCreate(ctx: BotContext): (args: CommandArgs) => Promise<void> {
  const openingModal = openingModals(ctx);
  return async ({ command, ack, logger }) => {
    const [first = '', ...rest] = command.text.trim().split(/\s+/).filter(Boolean);
    const sub = first.toLowerCase();
    const ephemeral = (m: { text: string; blocks: unknown[] }) => ack({ response_type: 'ephemeral', text: m.text, blocks: m.blocks as never });

    if (sub === 'help') return ephemeral(helpMessage(ctx.recipes));
    if (sub === 'list') return ephemeral(listMessage(ctx.requests.byRequester(command.user_id, LIST_SHOWS), ctx.requests.countOf(command.user_id)));
    if (sub === 'mine') {
      // Live status takes VergeOS calls: ack now, answer when they are in.
      await ack();
      const mine = ctx.provisioner.vmsOwnedBy(command.user_id);
      const entries = await withPurpose('user', async () => {
        // Their power states and their addresses as VergeOS says now (kept on their records): one call each.
        const [statusOf, read] = await Promise.all([liveStatuses(ctx, mine), ctx.vms.readAddressesOf(mine)]);
        return read.map((vm) => ({
          vm,
          status: vm.state === 'gone' || !vm.keys.machineKey ? undefined : statusOf.get(vm.keys.machineKey),
        }));
      });
      await ctx.notifier.tell(command.user_id, command.channel_id, myVmsMessage(entries, 'You have', ctx.env.VERGEOS_URL));
      return;
    }
    if (sub === 'status') {
      const id = (rest[0] ?? '').toUpperCase();
      const valid = /^REQ-\d+$/.test(id);
      // Old decided requests live in the archive; look there too.
      const found = valid ? ((await ctx.requests.load(id)) ?? (await ctx.store.findArchivedRequest(id))) : undefined;
      // One the asker may not see is answered as one that does not exist (numbers are sequential).
      const request = found && (await maySee(ctx, found, command.user_id)) ? found : undefined;
      if (!request) return ephemeral(unknownMessage(`There is no request ${escapeText(rest[0] ?? '(none given)')}. Try \`/vm-create list\`.`, ctx.recipes));
      let runs = request.runId ? ctx.provisioner.runsForRequest(request.id) : [];
      if (request.runId && !runs.length) runs = await ctx.store.archivedRunsOf(request.id);
      const results = runs.map(runResult);
      if (request.kind === 'batch') {
        const ready = results.filter((r) => r.state === 'succeeded');
        const keys = results.length
          ? `${ready.length} of ${results.length} ready${
              ready.length
                ? `: ${ready
                    .slice(0, 20)
                    .map((r) => `${r.name} (VM key ${r.vmKey}, machine key ${r.machineKey})`)
                    .join(', ')}${ready.length > 20 ? ', …' : ''}`
                : ''
            }`
          : undefined;
        const failed = results.filter((r) => isRetryable(r.state));
        return ephemeral(
          statusMessage(request, {
            keys,
            error: failed.length
              ? `${failed.length} failed or not started: ${failed
                  .slice(0, 10)
                  .map((r) => r.name)
                  .join(', ')}`
              : undefined,
          }),
        );
      }
      const result = results[0];
      return ephemeral(
        statusMessage(request, {
          keys: result?.vmKey ? `VM key ${result.vmKey}, machine key ${result.machineKey}` : undefined,
          error: runs[0]?.error?.message,
        }),
      );
    }
    const recipe = sub ? ctx.recipes.find((r) => r.id === sub) : undefined;
    if (sub && !recipe) return ephemeral(unknownMessage(`I don't know \`${escapeText(first)}\`.`, ctx.recipes));

    // Ack first (no VergeOS call on this path), then open the modal while the trigger is fresh,
    // after any other commands of a burst have been acked.
    await ack();
    try {
      await ctx.afterAck.run(async () =>
        ctx.slack.views.open({ trigger_id: command.trigger_id, view: openingModal(recipe, rest[0], await quotaNote(ctx, command.user_id)) }),
      );
    } catch (err) {
      logger.warn(`views.open failed: ${(err as Error).message}`);
      await ctx.notifier.tell(command.user_id, command.channel_id, viewNotOpened('the request form', err instanceof SlackApiError ? err.error : undefined));
    }
  };
}
