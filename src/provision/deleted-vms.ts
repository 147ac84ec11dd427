/**
 * Finished runs whose VM was deleted outside the bot: looked up by name (a few list calls for
 * many VMs) and marked `goneAt`, so they stop counting against quotas. A VM of that name with
 * another key is someone else's: ours is gone all the same.
 */
import { isConflict } from '../errors.js';
import type { RunRecord } from '../store/records.js';
import type { ProvisionContext } from './context.js';

/** VMs looked up per list call. */
const NAMES_PER_LOOKUP = 20;

export async function noticeDeletedVms(ctx: ProvisionContext): Promise<RunRecord[]> {
  const held = ctx.runs.runsInStates(['succeeded', 'failed'], (r) => !r.goneAt && r.keys.vmKey !== undefined);
  const present = new Set<string>();
  for (let i = 0; i < held.length; i += NAMES_PER_LOOKUP) {
    for (const vm of await ctx.api.findVmsByName(held.slice(i, i + NAMES_PER_LOOKUP).map((r) => r.spec.vm.name))) present.add(vm.key);
  }
  const gone: RunRecord[] = [];
  for (const run of held.filter((r) => !present.has(r.keys.vmKey!))) {
    try {
      const marked = await ctx.store.updateRun(run.id, { version: run.version }, (r) => {
        r.goneAt = new Date().toISOString();
      });
      await ctx.records.record(marked, 'vmbot', 'run.vm_gone', 'info', `VM key ${run.keys.vmKey} no longer exists in VergeOS (deleted outside the bot)`);
      gone.push(marked);
    } catch (err) {
      // Changed meanwhile (a retry or a cleanup): it is looked at again next time.
      if (!isConflict(err)) throw err;
    }
  }
  return gone;
}
