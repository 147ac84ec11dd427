/**
 * The step executor: a run's plan executed against VergeOS, each step exactly once. Before each
 * POST the step is saved as `in_flight`; after it, as `done` with its key. A step found
 * `in_flight` (a crash, a timeout, a reset) is looked up before anything is re-sent; one VergeOS
 * turned away (a 429, a dropped connection) and a lookup shows not made is sent again, a few times
 * at most, each send saved in flight first. A failure stops the run and records what exists; a
 * store that takes no writes pauses it instead.
 */
import { planRun, type Plan, type PlanStep } from '../plan/plan.js';
import { describeStep } from '../plan/render.js';
import type { RunRecord, RunState } from '../store/records.js';
import { isUnwritable } from '../store/durable-file.js';
import { isVergeosError } from '../vergeos/errors.js';
import { runDurationSeconds, runsTotal } from '../ops/metrics.js';
import type { ProvisionContext } from './context.js';
import { asFailure, StopRequested } from './errors.js';
import { gaveUpWaiting } from '../vergeos/transport.js';
import { emitRunEvent, type RunEvent, type RunEventListener } from './events.js';
import { createdSoFar, ProvisionFailure, runError } from './messages.js';
import { heldByOtherRecords, lookUpStep, type Found } from './reconcile.js';
import { runResult } from './result.js';
import { sendStep } from './send-step.js';
import { MAX_SENDS, turnedAway, turnedAwayReason } from './turned-away.js';
import { PollBackoff } from './poll-backoff.js';
import { recordVm } from './vm-records.js';
import { EXECUTABLE_RUN_STATES } from '../store/run-states.js';

const RESUMABLE: readonly RunState[] = EXECUTABLE_RUN_STATES;

type StepEventBase = Omit<Extract<RunEvent, { type: 'step_started' }>, 'type'>;

export interface ImportPoll {
  intervalMs: number;
  timeoutMs: number;
}

export class StepExecutor {
  readonly #ctx: ProvisionContext;
  readonly #importPoll: ImportPoll;
  /** Runs paused because the store took no writes (in memory: a restart resumes every unfinished run anyway). */
  readonly #pausedForStore = new Set<string>();

  constructor(ctx: ProvisionContext, importPoll: ImportPoll) {
    this.#ctx = ctx;
    this.#importPoll = importPoll;
  }

  /**
   * Execute (or resume, or retry) a run until it succeeds or a step fails. Safe to call on a run
   * that was interrupted at any point: nothing is created twice.
   */
  async execute(runId: string, listener: RunEventListener | undefined, actor: string): Promise<RunRecord> {
    const { claims, store, records, runs } = this.#ctx;
    if (claims.stopping && !claims.isExecuting(runId)) return runs.require(runId); // shutting down: the next start takes it
    await claims.take(runId, `run ${runId} is already executing`);
    this.#pausedForStore.delete(runId);
    const started = performance.now();
    let outcome: 'succeeded' | 'failed' | 'paused' = 'paused';
    try {
      await records.writeHeld();
      const before = runs.require(runId);
      let run = await store.updateRun(
        runId,
        { version: before.version, states: RESUMABLE },
        (r) => {
          r.state = 'running';
          delete r.error;
        },
        // Exclusive in memory (the lock file keeps other processes out); journaled with the
        // first in_flight save, before anything is sent to VergeOS.
        { durable: false },
      );
      const verb = before.state === 'pending' || before.state === 'not_started' ? 'run.started' : before.state === 'failed' ? 'run.retried' : 'run.resumed';
      await records.record(run, actor, verb, 'info');
      const plan = planRun(run);
      const paused = async (done: number) => {
        await records.record(
          run,
          'vmbot',
          'run.paused',
          'info',
          `the bot is shutting down; ${done} of ${plan.steps.length} steps done, the rest resumes at the next start`,
        );
        return run;
      };
      for (const [index, step] of plan.steps.entries()) {
        if (run.steps[step.id]?.status === 'done') continue;
        if (claims.stopping) return await paused(index);
        run = await this.#runStep(run, plan, step, index, listener);
        if (run.state === 'failed') {
          outcome = 'failed';
          return run;
        }
        // Stopped inside the step (nothing sent, or in flight to be looked up): never past it, even when it is the last.
        if (run.steps[step.id]?.status !== 'done') return await paused(index);
      }
      // The VM's own record (owner, keys, configuration, its lease running from now), then the run's end.
      await recordVm(store, run);
      run = await store.updateRun(runId, { version: run.version }, (r) => {
        r.state = 'succeeded';
      });
      await records.recordOrHold(run, actor, 'run.succeeded', 'ok', plan.steps.length + ' steps done');
      await this.#emit(listener, { type: 'run_succeeded', runId, result: runResult(run) });
      outcome = 'succeeded';
      return run;
    } catch (err) {
      if (!isUnwritable(err)) throw err;
      return await this.#pauseUnwritable(runId, err, listener);
    } finally {
      await claims.drop(runId);
      if (outcome !== 'paused') {
        runsTotal.inc({ outcome });
        runDurationSeconds.observe({ outcome }, (performance.now() - started) / 1000);
      }
    }
  }

  /** Whether a run was last paused by a store that took no writes (cleared when it runs again). */
  pausedForStore(runId: string): boolean {
    return this.#pausedForStore.has(runId);
  }

  async #runStep(run: RunRecord, plan: Plan, step: PlanStep, index: number, listener?: RunEventListener): Promise<RunRecord> {
    const { api, store, records, claims, logger } = this.#ctx;
    const base: StepEventBase = { runId: run.id, stepId: step.id, index, total: plan.steps.length, description: describeStep(step, plan.vmName) };
    await this.#emit(listener, { type: 'step_started', ...base });
    // True while VergeOS may have done this step without our knowing: the step stays in_flight.
    let unresolved = run.steps[step.id]?.status === 'in_flight';
    const heldElsewhere = heldByOtherRecords(store, run.id);
    try {
      if (step.kind === 'wait_imports' && claims.stopping) return run;
      if (step.kind === 'wait_imports') {
        await this.#waitForImports(run.keys.machineKey!);
        return await this.#markDone(run, step, {}, false, listener, base);
      }
      if (unresolved) {
        const found = await lookUpStep(api, step, run, heldElsewhere);
        if (found) return await this.#markDone(run, step, found, true, listener, base);
        unresolved = false;
      }
      for (let sends = 1; ; sends++) {
        run = await this.#saveInFlight(run, step);
        unresolved = true;
        let found: Found;
        try {
          found = await sendStep(api, step, run, heldElsewhere);
        } catch (err) {
          // VergeOS may have done it all the same (a clone with no keys and no copy listed yet): left in flight, looked up on resume.
          if (err instanceof ProvisionFailure && err.outcomeUnknown) throw err;
          if (!isVergeosError(err) || !err.outcomeUnknown) {
            unresolved = false;
            throw err;
          }
          logger?.warn({ runId: run.id, step: step.id, code: err.code }, 'outcome of a POST unknown; looking it up');
          const lookedUp = await lookUpStep(api, step, run, heldElsewhere);
          if (lookedUp) return await this.#markDone(run, step, lookedUp, true, listener, base);
          unresolved = false;
          // Turned away (429, a dropped connection) and confirmed not made: sent again, a few times at most.
          if (!turnedAway(err) || sends >= MAX_SENDS) throw err;
          if (claims.stopping) throw new StopRequested(); // in flight on disk: the next start looks it up, then sends
          const detail = `${step.id}: ${turnedAwayReason(err)} and a lookup found nothing made; sending it again (send ${sends + 1} of at most ${MAX_SENDS})`;
          logger?.info({ runId: run.id, step: step.id, code: err.code, transportCode: err.transportCode, sends }, detail);
          await records.record(run, 'vmbot', 'run.step_resent', 'info', detail);
          continue;
        }
        return await this.#markDone(run, step, found, false, listener, base);
      }
    } catch (err) {
      if (err instanceof StopRequested) return run; // nothing was sent: the step starts again next time
      // Stopping while a call waited for the request budget: nothing was sent; the step is looked up, then sent, next time.
      if (gaveUpWaiting(err) && claims.stopping) return run;
      if (isUnwritable(err)) throw err; // no failure can be recorded either: the run pauses (execute)
      const failure = asFailure(err);
      const error = runError(step, index, failure, plan.vmName);
      const failed = await store.updateRun(run.id, { version: run.version }, (r) => {
        r.state = 'failed';
        r.error = error;
        r.steps[step.id]!.status = unresolved ? 'in_flight' : 'failed';
      });
      await records.recordOrHold(failed, 'vmbot', 'run.step_failed', 'failed', `${step.id}: ${error.code}`);
      await records.recordOrHold(failed, 'vmbot', 'run.failed', 'failed', error.message);
      await this.#emit(listener, { type: 'step_failed', ...base, error });
      await this.#emit(listener, { type: 'run_failed', runId: run.id, error, created: createdSoFar(failed), result: runResult(failed) });
      return failed;
    }
  }

  /** One more send of `step`, saved in flight (attempts + 1, compare-and-set) before it leaves: a crash after it leads to a lookup. */
  #saveInFlight(run: RunRecord, step: PlanStep): Promise<RunRecord> {
    return this.#ctx.store.updateRun(run.id, { version: run.version }, (r) => {
      const p = r.steps[step.id]!;
      p.status = 'in_flight';
      p.attempts += 1;
      p.at = new Date().toISOString();
    });
  }

  /**
   * The store (or audit log) took no more writes. Nothing was sent that is not recorded in_flight
   * (the in_flight save comes first), so the run stops here, neither failed nor done, and resumes
   * from its stored steps once writes work again (the bot takes it over; the CLI: `vmbot resume`).
   */
  async #pauseUnwritable(runId: string, err: unknown, listener: RunEventListener | undefined): Promise<RunRecord> {
    const reason = (err as Error).message;
    this.#ctx.logger?.error({ runId, err: reason }, 'the store takes no writes: the run is paused until it does');
    this.#pausedForStore.add(runId);
    await this.#emit(listener, { type: 'run_paused', runId, reason });
    return this.#ctx.runs.require(runId);
  }

  async #markDone(
    run: RunRecord,
    step: PlanStep,
    found: Found,
    reconciled: boolean,
    listener: RunEventListener | undefined,
    base: StepEventBase,
  ): Promise<RunRecord> {
    const done = await this.#ctx.store.updateRun(
      run.id,
      { version: run.version },
      (r) => {
        const p = r.steps[step.id]!;
        p.status = 'done';
        p.at = new Date().toISOString();
        if (found.key) p.key = found.key;
        if (found.uuid) p.uuid = found.uuid;
        if (reconciled) p.reconciled = true;
        if (step.kind === 'create_vm' || step.kind === 'clone_vm') r.keys = { vmKey: found.vmKey, machineKey: found.machineKey };
        if (step.kind === 'power_on') r.poweredOn = true;
      },
      // Journaled with the next step's in_flight save or the run's end. If the process dies
      // first, the step is still in_flight on disk and is found again by lookup.
      { durable: false },
    );
    const keys: Record<string, string> = {};
    if (found.vmKey) keys.vm = found.vmKey;
    if (found.machineKey) keys.machine = found.machineKey;
    if (found.key && step.kind !== 'create_vm' && step.kind !== 'clone_vm') keys[step.kind.replace('add_', '')] = found.key;
    if (found.uuid) keys.uuid = found.uuid;
    await this.#ctx.records.record(done, 'vmbot', 'run.step_done', 'ok', `${step.id}${reconciled ? ' (found by lookup after an unknown outcome)' : ''}`, keys);
    await this.#emit(listener, { type: 'step_done', ...base, key: found.key, vmKey: found.vmKey, machineKey: found.machineKey, uuid: found.uuid, reconciled });
    return done;
  }

  async #waitForImports(machineKey: string): Promise<void> {
    const backoff = new PollBackoff(this.#importPoll.intervalMs, Date.now() + this.#importPoll.timeoutMs);
    for (;;) {
      const drives = await this.#ctx.api.listDrives(machineKey);
      const broken = drives.find((d) => d.status === 'error');
      if (broken) throw new ProvisionFailure('PROVISION_IMPORT_FAILED', `importing drive "${broken.name}" failed in VergeOS; check the media source`);
      if (!drives.some((d) => d.status === 'importing')) return;
      if (this.#ctx.claims.stopping) throw new StopRequested();
      if (backoff.passed) {
        throw new ProvisionFailure(
          'PROVISION_IMPORT_TIMEOUT',
          `drives were still importing after ${Math.round(this.#importPoll.timeoutMs / 1000)} s; retry later to power on`,
        );
      }
      await backoff.wait(() => this.#ctx.claims.stopping);
      if (this.#ctx.claims.stopping) throw new StopRequested();
    }
  }

  #emit(listener: RunEventListener | undefined, event: RunEvent): Promise<void> {
    return emitRunEvent(listener, event, this.#ctx.logger);
  }
}
