/**
 * "More…" on a VM (`/vm-create mine`, App Home): the owner or a lead picks a change, and its form
 * opens filled with the VM's current values. Anyone else is told the VM is not theirs, and nothing
 * opens. The form carries the run id; the VergeOS reads a form needs (snapshots, power state) go
 * before `views.open`, inside the trigger's 3 s.
 */
import type { types } from '@slack/bolt';
import type { VmRecord } from '../../../store/records.js';
import type { BotContext } from '../../context.js';
import { escapeText } from '../../escape.js';
import { say } from '../../views/messages.js';
import { viewNotOpened } from '../../views/other.js';
import {
  diskAddForm,
  diskGrowForm,
  nicAddForm,
  parseMoreChoice,
  resizeForm,
  snapshotCreateForm,
  snapshotsForm,
  type ChangeForm,
  type ChangeFormMeta,
} from '../../views/vm-change-forms.js';
import { SlackApiError } from '../../web-api.js';
import type { ActionArgs } from '../args.js';
import { vmFor } from './vm-target.js';
import { openCloneFormFor } from './clone-vm.js';
import { CLONE_OPTION_PREFIX, clonedRunId } from '../../views/clone-modal.js';

export async function openChangeForm({ ack, body }: ActionArgs, ctx: BotContext): Promise<void> {
  await ack();
  const action = body.actions[0];
  const value = action?.type === 'static_select' || action?.type === 'overflow' ? (action.selected_option?.value ?? '') : '';
  // "Another like this" is not a change but a new VM: its own form.
  const cloned = clonedRunId(value);
  if (value.startsWith(CLONE_OPTION_PREFIX) && cloned) return openCloneFormFor(cloned, body, ctx);
  // A select's choice (or an overflow menu's, should the menu become one): both carry the option picked.
  const picked = action?.type === 'static_select' || action?.type === 'overflow' ? parseMoreChoice(action.selected_option?.value ?? '') : undefined;
  if (!picked) return;
  const t = await vmFor(picked.runId, body.user.id, body.channel?.id, ctx);
  if (!t) return;
  let view: types.ModalView;
  try {
    view = await formFor(picked.form, t.vm, { runId: t.vm.runId, ...(t.channel ? { channel: t.channel } : {}) }, ctx);
  } catch (err) {
    return ctx.notifier.tell(t.user, t.channel, say(`VergeOS did not answer (${escapeText((err as Error).message)}); nothing was changed. Try again.`));
  }
  try {
    await ctx.afterAck.run(() => ctx.slack.views.open({ trigger_id: body.trigger_id, view }));
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message }, 'views.open failed');
    await ctx.notifier.tell(t.user, t.channel, viewNotOpened(`the form for ${t.name}`, err instanceof SlackApiError ? err.error : undefined));
  }
}

async function formFor(form: ChangeForm, vm: VmRecord, meta: ChangeFormMeta, ctx: BotContext): Promise<types.ModalView> {
  switch (form) {
    case 'resize':
      return resizeForm(vm, meta);
    case 'disk_add':
      return diskAddForm(vm, meta);
    case 'disk_grow':
      return diskGrowForm(vm, meta);
    case 'nic_add':
      return nicAddForm(vm, meta);
    case 'snapshot_create':
      return snapshotCreateForm(vm, meta, ctx.leases.now());
    case 'snapshots': {
      const [snapshots, status] = await Promise.all([
        ctx.changes.snapshots(vm),
        vm.keys.machineKey ? ctx.vergeos.machineStatus(vm.keys.machineKey) : Promise.resolve(undefined),
      ]);
      return snapshotsForm(vm, meta, snapshots, status?.status === 'running' || status?.status === 'starting');
    }
  }
}
