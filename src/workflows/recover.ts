/**
 * Work a stopped process left, continued here: approvals not yet started, runs interrupted,
 * outcomes not yet recorded, deletions part-way. At start every one; later (on a timer) those
 * whose claim has lapsed — another bot process on the same database does the same, and a run's
 * claim lets only one continue it.
 */
import { isConflict } from '../errors.js';
import type { Logger } from '../log.js';
import type { Provisioner } from '../provision/provisioner.js';
import type { Requests } from '../requests/requests.js';
import type { RunRecord } from '../store/records.js';
import { inRunStates } from '../store/run-states.js';
import type { Store } from '../store/store.js';
import type { RequestExecution } from './execute-request.js';
import type { VmChanges } from './vm-changes.js';
import type { WriteHealth } from './write-health.js';

/** A run still being built (not yet succeeded, failed or stopped). */
const inProgress = inRunStates(['pending', 'running']);

export interface RecoveryDeps {
  store: Store;
  requests: Requests;
  provisioner: Provisioner;
  execution: RequestExecution;
  changes: Pick<VmChanges, 'resume'>;
  writeHealth: WriteHealth;
  logger?: Logger | undefined;
}

export class Recovery {
  /** One take-over at a time: the timer may fire again while one waits on the disk or the store, and a run must be resumed once. */
  #takingOver: Promise<void> | undefined;

  constructor(private readonly deps: RecoveryDeps) {}

  /** At start: changes a stopped process left mid-call, approved requests not yet started, then every run nobody is working on. */
  async recover(): Promise<void> {
    await this.deps.changes.resume().catch((err: unknown) => this.deps.logger?.warn({ err: (err as Error).message }, 'resuming VM changes failed'));
    for (const request of this.deps.requests.inState('approved')) await this.deps.execution.startApproved(request, request.decidedBy ?? 'vmbot');
    await this.#takeOver(true);
  }

  /** Runs whose process stopped (claim lapsed) or that paused on a full disk, continued here; one pass at a time. */
  takeOver(): Promise<void> {
    return (this.#takingOver ??= this.#takeOver(false).finally(() => {
      this.#takingOver = undefined;
    }));
  }

  async #takeOver(atStart: boolean): Promise<void> {
    const { store, requests, provisioner, execution, writeHealth, logger } = this.deps;
    // A store that takes no writes would pause each run again at its first step.
    // Asked of the disk here too: nothing need poll /readyz for a paused run to resume.
    if (writeHealth.problem() !== undefined && (await writeHealth.probe()) !== undefined) return;
    // Changes to VMs whose process stopped mid-call (at start, those were finished in recover()),
    // and approved changes not applied yet (their VM was busy when they were approved).
    if (!atStart) {
      await this.deps.changes.resume().catch((err: unknown) => logger?.warn({ err: (err as Error).message }, 'resuming VM changes failed'));
      for (const request of requests.inState('approved').filter((r) => r.kind === 'change'))
        await execution
          .startApproved(request, request.decidedBy ?? 'vmbot')
          .catch((err: unknown) => logger?.warn({ requestId: request.id, err: (err as Error).message }, 'applying an approved change failed'));
    }
    const orphans = new Map<string, RunRecord>();
    for (const run of await store.orphanedRuns()) {
      // A run this process paused on a full disk is nobody's (its claim was released): resumed as
      // soon as writes work, not a claim time after its last save as a stopped process's run is.
      const quiet = atStart || provisioner.pausedForStore(run.id) || Date.now() - Date.parse(run.updatedAt) > provisioner.claimTtlMs;
      if (quiet && !provisioner.isExecuting(run.id)) orphans.set(run.id, run);
    }
    for (const request of requests.inState('provisioning')) {
      const runs = provisioner.runsForRequest(request.id);
      if (!runs.length || !runs.some((r) => orphans.has(r.id) || atStart)) continue;
      const unfinished = runs.filter((r) => orphans.has(r.id) && inProgress(r.state));
      if (!unfinished.length && runs.some((r) => inProgress(r.state))) continue; // another process is on them
      if (!unfinished.length) {
        // Finished, not yet recorded; another process may be recording it right now (then it wins).
        await execution.report(request, runs).catch((err: unknown) => {
          if (!isConflict(err)) throw err;
        });
        continue;
      }
      const why = atStart ? 'restart' : unfinished.some((r) => provisioner.pausedForStore(r.id)) ? 'writable' : 'takeover';
      const afterStep = Object.values(unfinished[0]!.steps).filter((s) => s.status === 'done').length;
      execution.resume(
        request,
        unfinished.map((r) => r.id),
        { kind: 'resumed', why, resuming: unfinished.length, finished: runs.length - unfinished.length, afterStep },
      );
    }
    // A decommission or a deletion whose process stopped part-way (a deletion once per request).
    const cleaningUp = [...orphans.values()].filter((r) => r.state === 'cleaning_up');
    for (const run of cleaningUp.filter((r) => r.decommission)) {
      await provisioner
        .decommission(run.id, 'vmbot')
        .catch((err: unknown) => logger?.warn({ runId: run.id, err: (err as Error).message }, 'resuming a decommission failed'));
    }
    for (const requestId of new Set(cleaningUp.filter((r) => !r.decommission).map((r) => r.requestId))) {
      const request = requestId ? requests.find(requestId) : undefined;
      if (request?.state === 'failed') await execution.cleanup(request, 'vmbot');
    }
  }
}
