/**
 * Deleting what a run made: the cleanup of a failed run's partial VM, and the deletion behind a
 * decommission. Both stop the VM if it runs (ACPI power-off, then kill after a timeout), then
 * DELETE it, which removes its drives, NICs and devices: exactly once, resumable after a crash
 * (the run is `cleaning_up` meanwhile, and a create whose outcome is unknown is looked up first).
 */
import { planRun } from '../plan/plan.js';
import type { RunRecord, RunState } from '../store/records.js';
import type { ProvisionContext } from './context.js';
import { asFailure, RunBusyError } from './errors.js';
import { heldByOtherRecords, lookUpStep } from './reconcile.js';
import { stopAndDeleteVm } from './vm-power.js';
import { markVm } from './vm-records.js';
import { vmIdOf } from '../store/vm-record.js';
import { CLEANABLE_RUN_STATES, DECOMMISSIONABLE_RUN_STATES, inRunStates } from '../store/run-states.js';

const isDecommissionable = inRunStates(DECOMMISSIONABLE_RUN_STATES);

export type Teardown = 'cleanup' | 'decommission';

/** The states each teardown starts from (`cleaning_up`: an interrupted one, resumed). */
const FROM: Record<Teardown, RunState[]> = {
  cleanup: [...CLEANABLE_RUN_STATES],
  decommission: [...DECOMMISSIONABLE_RUN_STATES],
};

/**
 * Delete what a failed run created. Exactly once: only a failed or not-started run (or an
 * interrupted cleanup) can be cleaned up; an interrupted decommission is resumed as one.
 */
export async function cleanup(ctx: ProvisionContext, runId: string, actor: string): Promise<RunRecord> {
  const run = ctx.runs.require(runId);
  return tearDown(ctx, runId, actor, run.decommission ? 'decommission' : 'cleanup');
}

/**
 * The stop and DELETE, under the run's claim. A deletion that fails records why: a cleanup leaves
 * the run `failed` again, a decommission stays `cleaning_up` (the VM may be half stopped); running
 * it again resumes.
 */
export async function tearDown(ctx: ProvisionContext, runId: string, actor: string, kind: Teardown): Promise<RunRecord> {
  const { api, store, records, claims, runs } = ctx;
  const decommission = kind === 'decommission';
  await claims.take(runId, `run ${runId} is busy; wait for it to stop`);
  const verb = decommission ? 'vm.decommission' : 'run.cleanup';
  try {
    const before = runs.require(runId);
    // Its VM record was made and the run is being finished (a restart resumes it): not yet to delete.
    if (decommission && (before.state === 'pending' || before.state === 'running'))
      throw new RunBusyError(`run ${runId} is still being provisioned; wait for it to finish`);
    // The VM first, in the compare-and-set extensions, transfers and power-ons make on it (each needs
    // it live): from here it is being deleted. A crash before the run's write is resumed by the sweep.
    if (decommission && isDecommissionable(before.state))
      await markVm(store, runId, ['live', 'deleting', 'gone'], (v) => {
        v.state = 'deleting';
        v.deleting ??= { by: actor, at: new Date().toISOString() };
      });
    let run = await store.updateRun(runId, { version: before.version, states: FROM[kind] }, (r) => {
      r.state = 'cleaning_up';
      if (decommission) r.decommission ??= { by: actor, at: new Date().toISOString() };
    });
    await records.record(run, actor, `${verb}_started`, 'info');
    try {
      let vmKey = run.keys.vmKey;
      // The step that makes the VM (a create, or a clone) whose outcome is unknown: looked up.
      const making = planRun(run).steps[0]!;
      if (!vmKey && run.steps[making.id]?.status === 'in_flight') {
        vmKey = (await lookUpStep(api, making, run, heldByOtherRecords(store, runId)))?.vmKey;
      }
      // Marked deleted by a decommission a crash cut short after the DELETE: nothing to send again.
      const deleted = store.getVm(vmIdOf(runId))?.state === 'deleted';
      if (vmKey && !deleted) await stopAndDeleteVm(api, vmKey, run.keys.machineKey, ctx.stopTiming);
      // The VM record first: a crash before the run's end resumes the decommission, which finds it marked.
      if (decommission)
        await markVm(store, runId, ['deleting'], (v) => {
          v.state = 'deleted';
          v.deletedAt = new Date().toISOString();
        });
      run = await store.updateRun(runId, { version: run.version }, (r) => {
        r.state = decommission ? 'decommissioned' : 'cleaned_up';
        delete r.error;
      });
      await records.record(
        run,
        actor,
        decommission ? 'vm.decommissioned' : 'run.cleaned_up',
        'ok',
        vmKey ? `deleted VM key ${vmKey}` : 'nothing had been created',
      );
      return run;
    } catch (err) {
      const failure = asFailure(err);
      const message = `${decommission ? 'Decommission' : 'Cleanup'} failed: ${failure.message}. Try again.`;
      run = await store.updateRun(runId, { version: runs.require(runId).version }, (r) => {
        // A decommission stays under way (the VM may be half stopped); a cleanup is a failed run again.
        r.state = decommission ? 'cleaning_up' : 'failed';
        r.error = { code: failure.code, message };
      });
      await records.record(run, actor, `${verb}_failed`, 'failed', message);
      return run;
    }
  } finally {
    await claims.drop(runId);
  }
}
