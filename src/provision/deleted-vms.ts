/**
 * VMs deleted outside the bot: the live VMs' keys read in one list call per sweep (however many
 * VMs the bot made) and compared by VM key, and those missing marked, so they stop counting
 * against quotas — a VM record becomes `gone`; a failed run's left-behind VM is marked on the run
 * (`goneAt`). A VM of the same name with another key is someone else's: ours is gone all the same.
 */
import { isConflict } from '../errors.js';
import { ownerOf } from '../store/records.js';
import type { ProvisionContext } from './context.js';
import { markVm } from './vm-records.js';

/** A VM noticed gone: what its owner and the audit channel are told about. */
export interface GoneVm {
  runId: string;
  name: string;
  owner: string;
  keys: { vmKey: string; machineKey?: string | undefined };
  requestId?: string | undefined;
}

export async function noticeDeletedVms(ctx: ProvisionContext): Promise<GoneVm[]> {
  const vms = ctx.store.vmsBy('state', 'live', (v) => v.keys.vmKey !== '');
  const leftByFailedRuns = ctx.runs.runsInStates(['failed'], (r) => !r.goneAt && r.keys.vmKey !== undefined);
  const held = [
    ...vms.map((v) => ({ runId: v.runId, name: v.name, vmKey: v.keys.vmKey, isRecord: true })),
    ...leftByFailedRuns.map((r) => ({ runId: r.id, name: r.spec.vm.name ?? r.id, vmKey: r.keys.vmKey!, isRecord: false })),
  ];
  if (!held.length) return [];
  const present = new Set((await ctx.api.listLiveVms()).map((vm) => vm.key));
  const gone: GoneVm[] = [];
  for (const h of held.filter((x) => !present.has(x.vmKey))) {
    const at = new Date().toISOString();
    try {
      let noticed: GoneVm | undefined;
      if (h.isRecord) {
        // Only a VM still live: one being deleted by the bot meanwhile is the bot's deletion.
        noticed = await markVm(ctx.store, h.runId, ['live'], (v) => {
          v.state = 'gone';
          v.goneAt = at;
        });
      } else {
        const run = ctx.runs.require(h.runId);
        const marked = await ctx.store.updateRun(run.id, { version: run.version, states: ['failed'] }, (r) => {
          r.goneAt = at;
        });
        noticed = {
          runId: marked.id,
          name: h.name,
          owner: ownerOf(marked),
          keys: { vmKey: h.vmKey, machineKey: marked.keys.machineKey },
          requestId: marked.requestId,
        };
      }
      if (!noticed) continue;
      await ctx.records.record(
        ctx.runs.require(h.runId),
        'vmbot',
        'run.vm_gone',
        'info',
        `VM key ${h.vmKey} no longer exists in VergeOS (deleted outside the bot)`,
      );
      gone.push(noticed);
    } catch (err) {
      // Changed meanwhile (a retry or a cleanup): it is looked at again next time.
      if (!isConflict(err)) throw err;
    }
  }
  return gone;
}
