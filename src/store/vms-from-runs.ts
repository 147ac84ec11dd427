/**
 * The VM record of a run's VM: made when the run's last step is done, and, once, for each VM an
 * older store holds only as a run (before VMs had records of their own), from what the run says.
 */
import type { RunRecord } from './records.js';
import type { VmSpec } from '../vmspec/schema.js';
import { DECOMMISSIONABLE_RUN_STATES, isLiveVm } from './run-states.js';
import { isConflict } from '../errors.js';
import type { Store } from './store.js';
import { vmIdOf, type Lease, type VmRecord } from './vm-record.js';

/**
 * The record of the VM `run` made, as it stands: owned by whoever owns the run, its lease running
 * from `now` (an older run's lease already running is kept as it is). `ready`: made as the run's
 * last step is done (then `readyAt` is now), not from an older store's run.
 */
export function vmRecordFromRun(run: RunRecord, now: Date, ready = false): VmRecord {
  const at = now.toISOString();
  const state = run.goneAt ? 'gone' : run.state === 'decommissioned' ? 'deleted' : run.state === 'cleaning_up' ? 'deleting' : 'live';
  return {
    kind: 'vm',
    id: vmIdOf(run.id),
    version: 0,
    state,
    // Listed in the order they were asked for, as their runs are.
    createdAt: run.createdAt,
    updatedAt: at,
    name: run.spec.vm.name ?? run.id,
    owner: run.owner ?? run.actor,
    runId: run.id,
    ...(run.requestId ? { requestId: run.requestId } : {}),
    ...(run.group ? { group: run.group } : {}),
    keys: { vmKey: run.keys.vmKey ?? '', ...(run.keys.machineKey ? { machineKey: run.keys.machineKey } : {}) },
    spec: configurationOf(run.spec),
    ...(run.lease ? { lease: leaseFrom(run.lease, now) } : {}),
    ...(state === 'deleting' && run.decommission ? { deleting: run.decommission } : {}),
    ...(run.goneAt ? { goneAt: run.goneAt } : {}),
    ...(ready ? { readyAt: at } : {}),
  };
}

/**
 * A VM's configuration as its record keeps it: the approved spec without its cloud-init files —
 * read once, at first boot, not part of what the VM is now, and (user-data may hold secrets) kept
 * once, on the run.
 */
export function configurationOf(spec: VmSpec): VmSpec {
  const copy = structuredClone(spec);
  delete copy.vm.cloudinit_files;
  return copy;
}

/** The lease as the VM starts it: its terms, running from now; one already running (an older run's) as it is. */
function leaseFrom(lease: NonNullable<RunRecord['lease']>, now: Date): Lease {
  if (lease.endsAt) return structuredClone(lease);
  return {
    forMs: lease.forMs,
    ...(lease.maxMs !== undefined ? { maxMs: lease.maxMs } : {}),
    endsAt: new Date(now.getTime() + lease.forMs).toISOString(),
    reminded: [],
    outbox: [],
  };
}

/**
 * Records for the VMs an older store knows only as runs: every run whose VM the bot made and has
 * not deleted (succeeded, or being decommissioned) with a VM key and no VM record yet.
 */
export function missingVmRecords(runs: Iterable<Readonly<RunRecord>>, hasVm: (id: string) => boolean, now: Date): VmRecord[] {
  const out: VmRecord[] = [];
  for (const run of runs) {
    if (!isLiveVm(run) || !run.keys.vmKey || hasVm(vmIdOf(run.id))) continue;
    out.push(vmRecordFromRun(structuredClone(run), now));
  }
  return out;
}

/**
 * Records for VMs made without one — by a process of an older version sharing the database during
 * a rolling upgrade — from their runs; how many were made. (PostgreSQL calls it at open; the embedded store, one
 * process, writes them all in one append at open instead.)
 */
export async function recordMissingVms(store: Pick<Store, 'runsBy' | 'getVm' | 'insertVm'>, now: Date = new Date()): Promise<number> {
  const runs = DECOMMISSIONABLE_RUN_STATES.flatMap((state) => store.runsBy('state', state));
  let made = 0;
  for (const vm of missingVmRecords(runs, (id) => store.getVm(id) !== undefined, now)) {
    try {
      await store.insertVm(vm);
      made++;
    } catch (err) {
      if (!isConflict(err)) throw err; // another process made it meanwhile
    }
  }
  return made;
}
