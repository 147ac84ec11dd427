/** Day-2 action: hand a VM to another owner. */
import type { ProvisionContext } from '../context.js';
import type { VmRecord } from '../../store/records.js';
import { vmIdOf } from '../../store/vm-record.js';

/** Exactly once per call: a compare-and-set on the VM record, which must still be live. */
export async function transfer(ctx: ProvisionContext, runId: string, to: string, actor: string): Promise<VmRecord> {
  const run = ctx.runs.require(runId);
  const before = ctx.runs.requireVm(runId);
  const vm = await ctx.store.updateVm(vmIdOf(runId), { version: before.version, states: ['live'] }, (v) => {
    v.owner = to;
  });
  await ctx.records.record(run, actor, 'vm.transferred', 'ok', `owner ${before.owner} → ${to}`);
  return vm;
}
