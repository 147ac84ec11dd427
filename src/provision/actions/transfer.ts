/** Day-2 action: hand a VM to another owner. */
import type { ProvisionContext } from '../context.js';
import { ownerOf, type RunRecord } from '../../store/records.js';

/** Exactly once per call: a compare-and-set on the run, which must still be a provisioned VM. */
export async function transfer(ctx: ProvisionContext, runId: string, to: string, actor: string): Promise<RunRecord> {
  const before = ctx.runs.require(runId);
  const from = ownerOf(before);
  const run = await ctx.store.updateRun(runId, { version: before.version, states: ['succeeded'] }, (r) => {
    r.owner = to;
  });
  await ctx.records.record(run, actor, 'vm.transferred', 'ok', `owner ${from} → ${to}`);
  return run;
}
