/**
 * The provisioning side of VM records: one made when a run's VM is ready (before the run is marked
 * succeeded, so a crash between is resumed with the run and finds it made), and marked as the bot
 * deletes the VM. Each write is a compare-and-set, read again when something else changed it.
 */
import { isConflict } from '../errors.js';
import type { RunRecord } from '../store/records.js';
import type { Store, StoreExpect } from '../store/store.js';
import { vmIdOf, type VmRecord, type VmState } from '../store/vm-record.js';
import { vmRecordFromRun } from '../store/vms-from-runs.js';

type VmStore = Pick<Store, 'getVm' | 'insertVm' | 'updateVm' | 'catchUp'>;

/** The VM record of a run whose steps are all done: made once (a second call finds it). */
export async function recordVm(store: VmStore, run: RunRecord, now: Date = new Date()): Promise<VmRecord> {
  const id = vmIdOf(run.id);
  const existing = store.getVm(id);
  if (existing) return existing;
  const vm = vmRecordFromRun(run, now, true);
  try {
    await store.insertVm(vm);
    return vm;
  } catch (err) {
    if (!isConflict(err)) throw err;
    // Made meanwhile (another process resumed the run): that one stands.
    await store.catchUp('vms', id);
    const made = store.getVm(id);
    if (!made) throw err;
    return made;
  }
}

/**
 * A change to the VM record of run `runId` while it is in one of `states`: undefined when the run
 * made no VM record (a failed run's cleanup) or it is in another state. Read again on a conflict.
 */
export async function markVm(store: VmStore, runId: string, states: readonly VmState[], mutate: (vm: VmRecord) => void): Promise<VmRecord | undefined> {
  const id = vmIdOf(runId);
  for (let attempt = 0; ; attempt++) {
    if (attempt) await store.catchUp('vms', id);
    const vm = store.getVm(id);
    if (!vm || !states.includes(vm.state)) return undefined;
    const expect: StoreExpect<VmState> = { version: vm.version, states };
    try {
      return await store.updateVm(id, expect, mutate);
    } catch (err) {
      if (!isConflict(err) || attempt >= 4) throw err;
    }
  }
}
