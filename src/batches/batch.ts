/**
 * A batch: many VMs from one spec under one id, run with bounded concurrency. It stops starting
 * new VMs when a failure would repeat for all of them (tier full, credentials, a missing
 * cluster/network/media/device, VergeOS down); the VMs in flight finish or fail, the rest are
 * marked `not_started` with the reason. `keepGoing` opts out. Retrying a batch runs its failed
 * and not-started VMs again the same way.
 */
import { randomBytes } from 'node:crypto';
import { isBusy } from '../errors.js';
import { RunBusyError, type Provisioner, type RunEventListener, type RunMeta } from '../provision/provisioner.js';
import type { VmSpec } from '../vmspec/schema.js';
import type { RunRecord } from '../store/records.js';
import { isSystemic } from './systemic.js';
import { isCleanable, mayHaveLeftVm } from '../store/run-states.js';

export interface BatchOptions {
  actor: string;
  /** VMs provisioned at once (each VM's calls are sequential). Default 4. */
  concurrency?: number;
  /** Start every VM whatever fails. */
  keepGoing?: boolean;
  listener?: RunEventListener;
  /** Called as each VM finishes (succeeded or failed), e.g. to edit a progress message. */
  onRunFinished?: (run: RunRecord) => void;
}

export interface BatchStop {
  /** The run whose failure stopped the batch. */
  runId: string;
  vmName: string;
  message: string;
}

export interface BatchOutcome {
  batchId: string;
  /** Every run of the batch, in creation order, as they are now. */
  runs: RunRecord[];
  succeeded: number;
  failed: number;
  notStarted: number;
  stoppedBy?: BatchStop | undefined;
  /** The store took no writes, so the batch stopped where it was: its unfinished runs resume once it does. */
  paused?: boolean;
}

export function newBatchId(): string {
  return `batch-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Store a batch's runs (one write) under a new batch id. */
export async function createBatch(
  provisioner: Provisioner,
  specs: VmSpec[],
  meta: Omit<RunMeta, 'group'>,
  batchId = newBatchId(),
): Promise<{ batchId: string; runs: RunRecord[] }> {
  const runs = await provisioner.createRuns(specs, { ...meta, group: batchId });
  return { batchId, runs };
}

/** Create and run a batch: the CLI's `apply --count`. */
export async function provisionBatch(
  provisioner: Provisioner,
  specs: VmSpec[],
  options: BatchOptions & { requestId?: string; lease?: RunMeta['lease'] },
): Promise<BatchOutcome> {
  const { batchId, runs } = await createBatch(provisioner, specs, {
    actor: options.actor,
    ...(options.requestId ? { requestId: options.requestId } : {}),
    ...(options.lease ? { lease: options.lease } : {}),
  });
  return runBatch(
    provisioner,
    batchId,
    runs.map((r) => r.id),
    options,
  );
}

/**
 * Run these runs of a batch (all of them, or the failed ones for a retry), `concurrency` at a
 * time, in order, stopping early on a systemic failure unless `keepGoing`.
 */
export async function runBatch(provisioner: Provisioner, batchId: string, runIds: readonly string[], options: BatchOptions): Promise<BatchOutcome> {
  // The whole queue is held for this process, so another bot process does not start its runs
  // meanwhile; runs another process already holds are its to finish.
  const held = await provisioner.hold(runIds);
  try {
    return await runQueue(provisioner, batchId, held, options);
  } finally {
    await provisioner.unhold(held);
  }
}

async function runQueue(provisioner: Provisioner, batchId: string, runIds: readonly string[], options: BatchOptions): Promise<BatchOutcome> {
  const queue = [...runIds];
  let stoppedBy: BatchStop | undefined;
  let paused = false;
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = stoppedBy || paused ? undefined : queue.shift()) {
      let run: RunRecord;
      try {
        run = await provisioner.execute(id, options.listener, options.actor);
      } catch (err) {
        if (err instanceof RunBusyError) continue; // already executing here (another caller has it)
        throw err;
      }
      if (provisioner.pausedForStore(run.id)) {
        paused = true; // the next run would pause at its first write too
        continue;
      }
      options.onRunFinished?.(run);
      if (run.state === 'failed' && run.error && !options.keepGoing && !stoppedBy && isSystemic(run.error)) {
        stoppedBy = { runId: run.id, vmName: run.spec.vm.name, message: run.error.message };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, queue.length)) }, worker));
  if (stoppedBy && queue.length) {
    await provisioner.markNotStarted(queue, `the batch stopped after ${stoppedBy.vmName} failed: ${stoppedBy.message}`, options.actor);
  }
  return { ...batchOutcome(provisioner, batchId, stoppedBy), ...(paused ? { paused } : {}) };
}

/** Where a batch stands, from its runs. */
export function batchOutcome(provisioner: Provisioner, batchId: string, stoppedBy?: BatchStop): BatchOutcome {
  const runs = provisioner.runsOfBatch(batchId);
  const count = (state: RunRecord['state']) => runs.filter((r) => r.state === state).length;
  return { batchId, runs, succeeded: count('succeeded'), failed: count('failed'), notStarted: count('not_started'), stoppedBy };
}

/** A run that may have left something in VergeOS: a VM key, or a create whose outcome is unknown. */
export function leftPartialVm(run: RunRecord): boolean {
  return mayHaveLeftVm(run);
}

export interface BatchCleanupOutcome {
  cleaned: RunRecord[];
  /** Runs whose cleanup failed (each says why; run it again). */
  stillFailed: RunRecord[];
}

/**
 * Delete what the failed and not-started runs left (each run's own cleanup: stop, then DELETE),
 * `concurrency` at a time. Exactly once per run; an interrupted cleanup is resumed.
 */
export async function cleanupRuns(
  provisioner: Provisioner,
  runs: readonly RunRecord[],
  options: { actor: string; concurrency?: number },
): Promise<BatchCleanupOutcome> {
  const queue = runs.filter((r) => isCleanable(r.state)).map((r) => r.id);
  const cleaned: RunRecord[] = [];
  const stillFailed: RunRecord[] = [];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      let run: RunRecord;
      try {
        run = await provisioner.cleanup(id, options.actor);
      } catch (err) {
        // Being cleaned up (or run) by another caller right now: theirs to finish.
        if (isBusy(err)) continue;
        throw err;
      }
      (run.state === 'cleaned_up' ? cleaned : stillFailed).push(run);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, queue.length)) }, worker));
  return { cleaned, stillFailed };
}
