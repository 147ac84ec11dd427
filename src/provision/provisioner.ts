/**
 * Runs: a plan executed step by step against VergeOS, exactly once. Before each POST the step is
 * saved as `in_flight`; after it, as `done` with its key. A step found `in_flight` (a crash, a
 * timeout, a reset) is looked up before anything is re-sent. Failure stops the run and records
 * what exists; cleanup is a separate, explicit action.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { planSpec, type Plan, type PlanStep } from '../plan/plan.js';
import { describeStep } from '../plan/render.js';
import type { VmSpec } from '../vmspec/schema.js';
import type { AuditEvent, AuditLog } from '../store/audit.js';
import type { RunError, RunRecord, RunState, StepProgress } from '../store/records.js';
import { StoreError, type Store } from '../store/store.js';
import { isUnwritable } from '../store/durable-file.js';
import type { VergeosApi } from '../vergeos/client.js';
import { isVergeosError, VergeosError } from '../vergeos/errors.js';
import { findResourceGroup } from '../vergeos/resource-groups.js';
import type { Logger } from '../log.js';
import { runDurationSeconds, runsTotal } from '../ops/metrics.js';
import { createdSoFar, ProvisionFailure, runError } from './messages.js';
import { lookUpStep, type Found } from './reconcile.js';
import { runResult, type RunResult } from './result.js';

export type RunEvent =
  | { type: 'step_started'; runId: string; stepId: string; index: number; total: number; description: string }
  | {
      type: 'step_done';
      runId: string;
      stepId: string;
      index: number;
      total: number;
      description: string;
      key?: string | undefined;
      vmKey?: string | undefined;
      machineKey?: string | undefined;
      uuid?: string | undefined;
      reconciled: boolean;
    }
  | { type: 'step_failed'; runId: string; stepId: string; index: number; total: number; description: string; error: RunError }
  | { type: 'run_succeeded'; runId: string; result: RunResult }
  | { type: 'run_failed'; runId: string; error: RunError; created: string; result: RunResult }
  /** The store took no more writes (a full disk): nothing more is sent until it does; then the run resumes where it stopped. */
  | { type: 'run_paused'; runId: string; reason: string };

export type RunEventListener = (event: RunEvent) => void | Promise<void>;

export interface RunMeta {
  actor: string;
  requestId?: string;
  group?: string;
  /** Keep the VM this long after it is ready (ms), extendable up to `maxMs` from now. */
  lease?: { forMs: number; maxMs?: number | undefined } | undefined;
}

export interface ProvisionerOptions {
  vergeos: VergeosApi;
  store: Store;
  audit: AuditLog;
  logger?: Logger;
  /** How often and how long to wait for import drives before power on. */
  importPoll?: { intervalMs: number; timeoutMs: number };
  /**
   * How long this process holds a run it executes before another process may take it over
   * (renewed every third of it while it works). Default 30 s.
   */
  claimTtlMs?: number;
  /** Cleanup: how long to wait for an ACPI power-off before killing the VM. */
  stopTimeoutMs?: number;
  /** Status polling during cleanup. */
  pollMs?: number;
}

const RESUMABLE: readonly RunState[] = ['pending', 'running', 'failed', 'not_started'];

export class Provisioner {
  readonly #api: VergeosApi;
  readonly #store: Store;
  readonly #audit: AuditLog;
  readonly #logger: Logger | undefined;
  readonly #importPoll: { intervalMs: number; timeoutMs: number };
  readonly #stopTimeoutMs: number;
  readonly #pollMs: number;
  /** Runs executing in this process: a second caller gets a conflict, not a second executor. */
  readonly #active = new Set<string>();
  /** Set by stop(): no new run or step starts; the VergeOS call in flight finishes and is saved. */
  #stopping = false;
  /** Who this process is, in run claims (several bot processes may share one database). */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly claimTtlMs: number;
  /** Runs a batch in this process will execute: held, so no other process starts them meanwhile. */
  readonly #held = new Set<string>();
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: ProvisionerOptions) {
    this.#api = options.vergeos;
    this.#store = options.store;
    this.#audit = options.audit;
    this.#logger = options.logger;
    this.#importPoll = options.importPoll ?? { intervalMs: 5_000, timeoutMs: 30 * 60_000 };
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 60_000;
    this.#pollMs = options.pollMs ?? 1_000;
    this.claimTtlMs = options.claimTtlMs ?? 30_000;
  }

  /** This process starts working on a run: busy here, or held by another process, is refused. */
  async #take(runId: string, busy: string): Promise<void> {
    if (this.#active.has(runId)) throw new RunBusyError(busy);
    this.#active.add(runId);
    let claimed: boolean;
    try {
      claimed = await this.#store.claimRun(runId, this.owner, this.claimTtlMs);
    } catch (err) {
      this.#active.delete(runId);
      throw err;
    }
    if (!claimed) {
      this.#active.delete(runId);
      throw new RunBusyError(`${busy} (another bot process is working on it)`);
    }
    this.#beat();
    // Ours now: work from its latest version (another process may have just moved it on).
    await this.#store.catchUp('runs', runId).catch(async (err: unknown) => {
      await this.#drop(runId);
      throw err;
    });
  }

  async #drop(runId: string): Promise<void> {
    this.#active.delete(runId);
    if (!this.#held.has(runId))
      await this.#store
        .releaseRun(runId, this.owner)
        .catch((err: unknown) => this.#logger?.warn({ runId, err: (err as Error).message }, 'releasing a run claim failed'));
  }

  /** Hold runs this process will execute soon (a batch's queue); the ones another process holds are left out. */
  async hold(runIds: readonly string[]): Promise<string[]> {
    const mine: string[] = [];
    for (const id of runIds) {
      if (await this.#store.claimRun(id, this.owner, this.claimTtlMs)) {
        this.#held.add(id);
        mine.push(id);
      }
    }
    this.#beat();
    return mine;
  }

  async unhold(runIds: readonly string[]): Promise<void> {
    for (const id of runIds) {
      if (!this.#held.delete(id)) continue;
      if (!this.#active.has(id)) await this.#store.releaseRun(id, this.owner).catch(() => undefined);
    }
  }

  /** Renew the claims while this process works; stop when it holds nothing. */
  #beat(): void {
    if (this.#heartbeat) return;
    this.#heartbeat = setInterval(
      () => {
        const ids = [...new Set([...this.#active, ...this.#held])];
        if (!ids.length) {
          clearInterval(this.#heartbeat);
          this.#heartbeat = undefined;
          return;
        }
        void this.#store
          .renewClaims(this.owner, ids, this.claimTtlMs)
          .catch((err: unknown) => this.#logger?.warn({ err: (err as Error).message }, 'renewing run claims failed'));
      },
      Math.max(10, Math.floor(this.claimTtlMs / 3)),
    );
    this.#heartbeat.unref();
  }

  /** Whether this process is executing the run now. */
  isExecuting(runId: string): boolean {
    return this.#active.has(runId);
  }

  async createRun(spec: VmSpec, meta: RunMeta): Promise<RunRecord> {
    return (await this.createRuns([spec], meta))[0]!;
  }

  /** Several runs stored in one write, each with its own id. */
  async createRuns(specs: VmSpec[], meta: RunMeta): Promise<RunRecord[]> {
    const now = new Date().toISOString();
    const runs = specs.map((spec): RunRecord => ({
      id: `run-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
      version: 0,
      state: 'pending',
      createdAt: now,
      updatedAt: now,
      actor: meta.actor,
      ...(meta.requestId ? { requestId: meta.requestId } : {}),
      ...(meta.group ? { group: meta.group } : {}),
      ...(meta.lease ? { lease: { forMs: meta.lease.forMs, ...(meta.lease.maxMs ? { maxMs: meta.lease.maxMs } : {}), reminded: [], outbox: [] } } : {}),
      spec,
      steps: Object.fromEntries(planSpec(spec).steps.map((s) => [s.id, { status: 'pending', attempts: 0 } satisfies StepProgress])),
      keys: {},
      poweredOn: false,
    }));
    await this.#store.insertRuns(runs);
    for (const run of runs) await this.#record(run, meta.actor, 'run.created', 'ok', `${planSpec(run.spec).steps.length} steps`);
    return runs;
  }

  /** The run made for a request, if any (a restart between approval and start must not make two). */
  runForRequest(requestId: string): RunRecord | undefined {
    return this.#store.runsBy('requestId', requestId)[0];
  }

  /** VMs the bot made that still exist as far as it knows (and those noticed gone). */
  ownedVms(): RunRecord[] {
    return this.runsInStates(['succeeded', 'cleaning_up'], isOwnedVm);
  }

  /** One VM the bot made and still manages, by its run id. */
  ownedVm(runId: string): RunRecord | undefined {
    const run = this.#store.getRun(runId);
    return run && isOwnedVm(run) ? run : undefined;
  }

  /** The VMs `user` owns (asked for, or was handed). */
  vmsOwnedBy(user: string): RunRecord[] {
    return this.#store.runsBy('owner', user, isOwnedVm);
  }

  /** Copies of the runs in these states that pass `filter`, oldest first (found through the state index). */
  runsInStates(states: readonly RunState[], filter?: (run: Readonly<RunRecord>) => boolean): RunRecord[] {
    const runs = states.flatMap((state) => this.#store.runsBy('state', state, filter));
    return states.length > 1 ? runs.sort((a, b) => a.createdAt.localeCompare(b.createdAt)) : runs;
  }

  /** Hand a VM to another owner (exactly once per call: a compare-and-set on the run). */
  async transfer(runId: string, to: string, actor: string): Promise<RunRecord> {
    const before = this.#require(runId);
    const from = before.owner ?? before.actor;
    const run = await this.#store.updateRun(runId, { version: before.version, states: ['succeeded'] }, (r) => {
      r.owner = to;
    });
    await this.#record(run, actor, 'vm.transferred', 'ok', `owner ${from} → ${to}`);
    return run;
  }

  /** A request's runs (one, or a batch's), in the order they were created. */
  runsForRequest(requestId: string): RunRecord[] {
    return this.#store.runsBy('requestId', requestId);
  }

  /** The runs of a batch, in the order they were created. */
  runsOfBatch(batchId: string): RunRecord[] {
    return this.#store.runsBy('group', batchId);
  }

  /**
   * Pending runs a stopped batch will not start: `not_started`, with the reason, one audit record
   * each. Runs that already began (or were retried) are left as they are.
   */
  async markNotStarted(runIds: readonly string[], reason: string, actor: string): Promise<RunRecord[]> {
    const marked: RunRecord[] = [];
    for (const id of runIds) {
      const before = this.#require(id);
      if (before.state !== 'pending') continue;
      const run = await this.#store.updateRun(id, { version: before.version, states: ['pending'] }, (r) => {
        r.state = 'not_started';
        r.error = { code: 'BATCH_STOPPED', message: `Not started: ${reason}` };
      });
      await this.#record(run, actor, 'run.not_started', 'info', reason);
      marked.push(run);
    }
    return marked;
  }

  /**
   * Finished runs whose VM was deleted outside the bot: looked up by name (a few list calls for
   * many VMs) and marked `goneAt`, so they stop counting against quotas. A VM of that name with
   * another key is someone else's: ours is gone all the same.
   */
  async noticeDeletedVms(): Promise<RunRecord[]> {
    const held = this.runsInStates(['succeeded', 'failed'], (r) => !r.goneAt && r.keys.vmKey !== undefined);
    const present = new Set<string>();
    for (let i = 0; i < held.length; i += 20) {
      for (const vm of await this.#api.findVmsByName(held.slice(i, i + 20).map((r) => r.spec.vm.name))) present.add(vm.key);
    }
    const gone: RunRecord[] = [];
    for (const run of held.filter((r) => !present.has(r.keys.vmKey!))) {
      try {
        const marked = await this.#store.updateRun(run.id, { version: run.version }, (r) => {
          r.goneAt = new Date().toISOString();
        });
        await this.#record(marked, 'vmbot', 'run.vm_gone', 'info', `VM key ${run.keys.vmKey} no longer exists in VergeOS (deleted outside the bot)`);
        gone.push(marked);
      } catch (err) {
        // Changed meanwhile (a retry or a cleanup): it is looked at again next time.
        if (!(err instanceof StoreError && err.code === 'STORE_CONFLICT')) throw err;
      }
    }
    return gone;
  }

  /** Runs (and cleanups) executing now. */
  get inFlight(): number {
    return this.#active.size;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /**
   * For a graceful shutdown: start nothing new; each run finishes the VergeOS call it has in flight,
   * saves its outcome and stops, left `running` so the next start resumes it. Resolves when no run
   * executes (the caller bounds the wait).
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    while (this.#active.size) await new Promise((r) => setTimeout(r, 20));
  }

  /** Runs interrupted mid-way (the process died): resume these at start-up. */
  interruptedRuns(): RunRecord[] {
    return this.runsInStates(['running', 'cleaning_up']);
  }

  /**
   * Execute (or resume, or retry) a run until it succeeds or a step fails. Safe to call on a run
   * that was interrupted at any point: nothing is created twice.
   */
  async execute(runId: string, listener?: RunEventListener, actor = 'vmbot'): Promise<RunRecord> {
    if (this.#stopping && !this.#active.has(runId)) return this.#require(runId); // shutting down: the next start takes it
    await this.#take(runId, `run ${runId} is already executing`);
    this.#pausedForStore.delete(runId);
    const started = performance.now();
    let outcome: 'succeeded' | 'failed' | 'paused' = 'paused';
    try {
      await this.#writeHeldRecords();
      const before = this.#require(runId);
      let run = await this.#store.updateRun(
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
      await this.#record(run, actor, verb, 'info');
      const plan = planSpec(run.spec);
      for (const [index, step] of plan.steps.entries()) {
        if (run.steps[step.id]?.status === 'done') continue;
        if (this.#stopping) {
          await this.#record(
            run,
            'vmbot',
            'run.paused',
            'info',
            `the bot is shutting down; ${index} of ${plan.steps.length} steps done, the rest resumes at the next start`,
          );
          return run;
        }
        run = await this.#runStep(run, plan, step, index, listener);
        if (run.state === 'failed') {
          outcome = 'failed';
          return run;
        }
      }
      run = await this.#store.updateRun(runId, { version: run.version }, (r) => {
        r.state = 'succeeded';
        // The lease runs from when the VM is ready.
        if (r.lease && !r.lease.endsAt) r.lease.endsAt = new Date(Date.now() + r.lease.forMs).toISOString();
      });
      await this.#recordOrHold(run, actor, 'run.succeeded', 'ok', plan.steps.length + ' steps done');
      await this.#emit(listener, { type: 'run_succeeded', runId, result: runResult(run) });
      outcome = 'succeeded';
      return run;
    } catch (err) {
      if (!isUnwritable(err)) throw err;
      return await this.#pauseUnwritable(runId, err, listener);
    } finally {
      await this.#drop(runId);
      if (outcome !== 'paused') {
        runsTotal.inc({ outcome });
        runDurationSeconds.observe({ outcome }, (performance.now() - started) / 1000);
      }
    }
  }

  async #runStep(run: RunRecord, plan: Plan, step: PlanStep, index: number, listener?: RunEventListener): Promise<RunRecord> {
    const base = { runId: run.id, stepId: step.id, index, total: plan.steps.length, description: describeStep(step, plan.vmName) };
    await this.#emit(listener, { type: 'step_started', ...base });
    // True while VergeOS may have done this step without our knowing: the step stays in_flight.
    let unresolved = run.steps[step.id]?.status === 'in_flight';
    try {
      if (step.kind === 'wait_imports' && this.#stopping) return run;
      if (step.kind === 'wait_imports') {
        await this.#waitForImports(run.keys.machineKey!);
        return await this.#markDone(run, step, {}, false, listener, base);
      }
      if (unresolved) {
        const found = await lookUpStep(this.#api, step, run);
        if (found) return await this.#markDone(run, step, found, true, listener, base);
        unresolved = false;
      }
      run = await this.#store.updateRun(run.id, { version: run.version }, (r) => {
        const p = r.steps[step.id]!;
        p.status = 'in_flight';
        p.attempts += 1;
        p.at = new Date().toISOString();
      });
      unresolved = true;
      let found: Found;
      try {
        found = await this.#send(step, run);
      } catch (err) {
        if (!isVergeosError(err) || !err.outcomeUnknown) {
          unresolved = false;
          throw err;
        }
        this.#logger?.warn({ runId: run.id, step: step.id, code: err.code }, 'outcome of a POST unknown; looking it up');
        const lookedUp = await lookUpStep(this.#api, step, run);
        if (lookedUp) return await this.#markDone(run, step, lookedUp, true, listener, base);
        unresolved = false;
        throw err;
      }
      return await this.#markDone(run, step, found, false, listener, base);
    } catch (err) {
      if (err instanceof StopRequested) return run; // nothing was sent: the step starts again next time
      if (isUnwritable(err)) throw err; // no failure can be recorded either: the run pauses (execute)
      const failure = asFailure(err);
      const error = runError(step, index, failure, plan.vmName);
      const failed = await this.#store.updateRun(run.id, { version: run.version }, (r) => {
        r.state = 'failed';
        r.error = error;
        r.steps[step.id]!.status = unresolved ? 'in_flight' : 'failed';
      });
      await this.#recordOrHold(failed, 'vmbot', 'run.step_failed', 'failed', `${step.id}: ${error.code}`);
      await this.#recordOrHold(failed, 'vmbot', 'run.failed', 'failed', error.message);
      await this.#emit(listener, { type: 'step_failed', ...base, error });
      await this.#emit(listener, { type: 'run_failed', runId: run.id, error, created: createdSoFar(failed), result: runResult(failed) });
      return failed;
    }
  }

  /** Runs paused because the store took no writes (in memory: a restart resumes every unfinished run anyway). */
  readonly #pausedForStore = new Set<string>();

  /**
   * The store (or audit log) took no more writes. Nothing was sent that is not recorded in_flight
   * (the in_flight save comes first), so the run stops here, neither failed nor done, and resumes
   * from its stored steps once writes work again (the bot takes it over; the CLI: `vmbot resume`).
   */
  async #pauseUnwritable(runId: string, err: unknown, listener: RunEventListener | undefined): Promise<RunRecord> {
    const reason = (err as Error).message;
    this.#logger?.error({ runId, err: reason }, 'the store takes no writes: the run is paused until it does');
    this.#pausedForStore.add(runId);
    await this.#emit(listener, { type: 'run_paused', runId, reason });
    return this.#require(runId);
  }

  /** Whether a run was last paused by a store that took no writes (cleared when it runs again). */
  pausedForStore(runId: string): boolean {
    return this.#pausedForStore.has(runId);
  }

  async #send(step: PlanStep, run: RunRecord): Promise<Found> {
    const machine = run.keys.machineKey!;
    switch (step.kind) {
      case 'create_vm': {
        await this.#checkAsApproved(run);
        const { vmKey, machineKey } = await this.#api.createVm(step.body);
        return { key: vmKey, vmKey, machineKey };
      }
      case 'add_drive':
        return this.#api.addDrive({ machine, ...step.body });
      case 'add_nic':
        return this.#api.addNic({ machine, ...step.body });
      case 'add_device': {
        const type = step.body.type;
        // A device's kind is what the policy decided on: never guessed at run time.
        if (type === undefined)
          throw new ProvisionFailure(
            'PROVISION_NOT_AS_APPROVED',
            `the device from resource group ${String(step.body.resource_group)} has no type in the approved spec`,
          );
        const { key, uuid } = await this.#api.addDevice({ machine, ...step.body, type });
        return { key, ...(uuid ? { uuid } : {}) };
      }
      case 'power_on':
        try {
          await this.#api.powerOn(run.keys.vmKey!);
        } catch (err) {
          // Already running (e.g. a lost answer the first time) is the outcome we wanted.
          if (!(isVergeosError(err) && err.code === 'VERGEOS_CONFLICT' && /already running/i.test(err.vergeosMessage ?? ''))) throw err;
        }
        return {};
      case 'wait_imports':
        return {};
    }
  }

  /**
   * Before the first POST: each device's resource group still holds the kind of device the
   * approved spec (and so the policy) names. A group changed since would build something nobody
   * approved, so the run stops with nothing created.
   */
  async #checkAsApproved(run: RunRecord): Promise<void> {
    const devices = run.spec.devices.filter((d) => d.type !== 'tpm');
    if (!devices.length) return;
    const groups = await this.#api.listResourceGroups();
    for (const [i, device] of devices.entries()) {
      const group = findResourceGroup(groups, device.resource_group);
      if (device.type === undefined)
        throw new ProvisionFailure('PROVISION_NOT_AS_APPROVED', `device ${i + 1} has no type in the approved spec, so the policy could not have judged it`);
      if (!group) throw new ProvisionFailure('PROVISION_NOT_AS_APPROVED', `resource group ${String(device.resource_group)} no longer exists in VergeOS`);
      if (group.type !== device.type)
        throw new ProvisionFailure(
          'PROVISION_NOT_AS_APPROVED',
          `resource group ${group.name} now holds ${group.type || 'devices of no known type'}, not the ${device.type} that was approved; file the request again so the policy judges what it holds now`,
        );
    }
  }

  async #markDone(
    run: RunRecord,
    step: PlanStep,
    found: Found,
    reconciled: boolean,
    listener: RunEventListener | undefined,
    base: Omit<Extract<RunEvent, { type: 'step_started' }>, 'type'>,
  ): Promise<RunRecord> {
    const done = await this.#store.updateRun(
      run.id,
      { version: run.version },
      (r) => {
        const p = r.steps[step.id]!;
        p.status = 'done';
        p.at = new Date().toISOString();
        if (found.key) p.key = found.key;
        if (found.uuid) p.uuid = found.uuid;
        if (reconciled) p.reconciled = true;
        if (step.kind === 'create_vm') r.keys = { vmKey: found.vmKey, machineKey: found.machineKey };
        if (step.kind === 'power_on') r.poweredOn = true;
      },
      // Journaled with the next step's in_flight save or the run's end. If the process dies
      // first, the step is still in_flight on disk and is found again by lookup.
      { durable: false },
    );
    const keys: Record<string, string> = {};
    if (found.vmKey) keys.vm = found.vmKey;
    if (found.machineKey) keys.machine = found.machineKey;
    if (found.key && step.kind !== 'create_vm') keys[step.kind.replace('add_', '')] = found.key;
    if (found.uuid) keys.uuid = found.uuid;
    await this.#record(done, 'vmbot', 'run.step_done', 'ok', `${step.id}${reconciled ? ' (found by lookup after an unknown outcome)' : ''}`, keys);
    await this.#emit(listener, { type: 'step_done', ...base, key: found.key, vmKey: found.vmKey, machineKey: found.machineKey, uuid: found.uuid, reconciled });
    return done;
  }

  async #waitForImports(machineKey: string): Promise<void> {
    const deadline = Date.now() + this.#importPoll.timeoutMs;
    for (;;) {
      const drives = await this.#api.listDrives(machineKey);
      const broken = drives.find((d) => d.status === 'error');
      if (broken) throw new ProvisionFailure('PROVISION_IMPORT_FAILED', `importing drive "${broken.name}" failed in VergeOS; check the media source`);
      if (!drives.some((d) => d.status === 'importing')) return;
      if (this.#stopping) throw new StopRequested();
      if (Date.now() >= deadline) {
        throw new ProvisionFailure(
          'PROVISION_IMPORT_TIMEOUT',
          `drives were still importing after ${Math.round(this.#importPoll.timeoutMs / 1000)} s; retry later to power on`,
        );
      }
      await new Promise((r) => setTimeout(r, this.#importPoll.intervalMs));
    }
  }

  /**
   * Delete what a failed run created: stop the VM if it runs (ACPI power-off, then kill after a
   * timeout), then DELETE it, which removes its drives, NICs and devices. Exactly once: only a
   * failed or not-started run (or an interrupted cleanup) can be cleaned up.
   */
  async cleanup(runId: string, actor: string): Promise<RunRecord> {
    const run = this.#require(runId);
    if (run.decommission) return this.decommission(runId, actor);
    return this.#delete(runId, actor, ['failed', 'not_started', 'cleaning_up'], false);
  }

  /**
   * Delete a provisioned VM on purpose (its owner or a lead decommissions it): the same stop and
   * DELETE as a cleanup, exactly once, resumable after a crash; the run ends `decommissioned`.
   * A deletion that fails leaves the run `cleaning_up` with the reason; running it again resumes.
   */
  async decommission(runId: string, actor: string): Promise<RunRecord> {
    return this.#delete(runId, actor, ['succeeded', 'cleaning_up'], true);
  }

  async #delete(runId: string, actor: string, from: RunState[], decommission: boolean): Promise<RunRecord> {
    await this.#take(runId, `run ${runId} is busy; wait for it to stop`);
    const verb = decommission ? 'vm.decommission' : 'run.cleanup';
    try {
      const before = this.#require(runId);
      let run = await this.#store.updateRun(runId, { version: before.version, states: from }, (r) => {
        r.state = 'cleaning_up';
        if (decommission) r.decommission ??= { by: actor, at: new Date().toISOString() };
      });
      await this.#record(run, actor, `${verb}_started`, 'info');
      try {
        let vmKey = run.keys.vmKey;
        if (!vmKey && run.steps.create_vm?.status === 'in_flight') {
          vmKey = (await lookUpStep(this.#api, planSpec(run.spec).steps[0]!, run))?.vmKey;
        }
        if (vmKey) await this.#stopAndDelete(vmKey, run.keys.machineKey);
        run = await this.#store.updateRun(runId, { version: run.version }, (r) => {
          r.state = decommission ? 'decommissioned' : 'cleaned_up';
          delete r.error;
        });
        await this.#record(
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
        run = await this.#store.updateRun(runId, { version: this.#require(runId).version }, (r) => {
          // A decommission stays under way (the VM may be half stopped); a cleanup is a failed run again.
          r.state = decommission ? 'cleaning_up' : 'failed';
          r.error = { code: failure.code, message };
        });
        await this.#record(run, actor, `${verb}_failed`, 'failed', message);
        return run;
      }
    } finally {
      await this.#drop(runId);
    }
  }

  /**
   * Power a VM the bot made on or off (off: ACPI power-off, killed after the stop timeout). One
   * action per VM at a time; asking for the state it is already in changes nothing. Says what it did.
   */
  async power(runId: string, action: 'on' | 'off', actor: string): Promise<'done' | 'already'> {
    await this.#take(runId, `VM of run ${runId} is busy; wait for it`);
    try {
      const run = this.#require(runId);
      if (!isOwnedVm(run) || run.state !== 'succeeded' || !run.keys.vmKey)
        throw new RunBusyError(`run ${runId} has no VM to power ${action} (it is ${run.state})`);
      const status = run.keys.machineKey ? (await this.#api.machineStatus(run.keys.machineKey))?.status : undefined;
      const running = status === 'running' || status === 'starting';
      if ((action === 'on') === running) return 'already';
      if (action === 'on') {
        await this.#api.powerOn(run.keys.vmKey).catch((err: unknown) => {
          if (!(isVergeosError(err) && err.code === 'VERGEOS_CONFLICT' && /already running/i.test(err.vergeosMessage ?? ''))) throw err;
        });
      } else {
        await this.#stop(run.keys.vmKey, run.keys.machineKey);
      }
      await this.#record(run, actor, `vm.power_${action}`, 'ok', `VM key ${run.keys.vmKey}`);
      return 'done';
    } finally {
      await this.#drop(runId);
    }
  }

  /** ACPI power-off, then kill once the stop timeout has passed; nothing if it is stopped. */
  async #stop(vmKey: string, machineKey: string | undefined): Promise<void> {
    const machine = machineKey ?? (await this.#api.getVm(vmKey).catch(() => undefined))?.machineKey;
    const isStopped = async () => {
      if (!machine) return true;
      const status = await this.#api.machineStatus(machine);
      return !status || status.status === 'stopped';
    };
    if (await isStopped()) return;
    await this.#api.vmAction(vmKey, 'poweroff').catch((err: unknown) => {
      if (!(isVergeosError(err) && err.code === 'VERGEOS_CONFLICT')) throw err;
    });
    const deadline = Date.now() + this.#stopTimeoutMs;
    while (!(await isStopped()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, this.#pollMs));
    if (!(await isStopped())) await this.#api.vmAction(vmKey, 'kill');
  }

  async #stopAndDelete(vmKey: string, machineKey: string | undefined): Promise<void> {
    await this.#stop(vmKey, machineKey);
    try {
      await this.#api.deleteVm(vmKey);
    } catch (err) {
      if (!(isVergeosError(err) && err.code === 'VERGEOS_NOT_FOUND')) throw err;
    }
  }

  #require(runId: string): RunRecord {
    const run = this.#store.getRun(runId);
    if (!run) throw new Error(`no run ${runId}`);
    return run;
  }

  async #emit(listener: RunEventListener | undefined, event: RunEvent): Promise<void> {
    if (!listener) return;
    try {
      await listener(event);
    } catch (err) {
      // A listener (e.g. a Slack post) failing must not change the run's outcome.
      this.#logger?.warn({ runId: event.runId, event: event.type, err: (err as Error).message }, 'run event listener failed');
    }
  }

  async #record(run: RunRecord, actor: string, action: string, outcome: AuditEvent['outcome'], detail?: string, keys?: Record<string, string>): Promise<void> {
    const runKeys =
      keys ??
      (Object.fromEntries(Object.entries({ vm: run.keys.vmKey, machine: run.keys.machineKey }).filter(([, v]) => v !== undefined)) as Record<string, string>);
    const event: AuditEvent = {
      actor,
      action,
      runId: run.id,
      ...(run.requestId ? { requestId: run.requestId } : {}),
      vmName: run.spec.vm.name,
      ...(Object.keys(runKeys).length ? { keys: runKeys } : {}),
      outcome,
      ...(detail ? { detail } : {}),
    };
    try {
      await this.#audit.append(event);
    } catch (err) {
      // The step it records stands (in memory, and looked up after a restart): its record is kept to write first when writes work.
      // Held unless the record is in the file already (its sync failed after it landed).
      if (isUnwritable(err) && !(err as { recorded?: boolean }).recorded) this.#unwritten.push(event);
      throw err;
    }
  }

  /**
   * For a record after the run's final save: the outcome stands whatever the disk does, so a
   * refused record is held (written once writes work) and the run is reported, not paused.
   */
  async #recordOrHold(run: RunRecord, actor: string, action: string, outcome: AuditEvent['outcome'], detail?: string): Promise<void> {
    await this.#record(run, actor, action, outcome, detail).catch((err: unknown) => {
      if (!isUnwritable(err)) throw err;
      this.#logger?.error({ runId: run.id, err: (err as Error).message }, 'an audit record is held until the disk takes writes');
    });
  }

  /** For the bot once a probe write works: audit records a full disk refused, written now. */
  writeHeldRecords(): Promise<void> {
    return this.#writeHeldRecords();
  }

  /** Audit records a full disk refused, in order; written before the next run goes on. */
  readonly #unwritten: AuditEvent[] = [];

  #writingHeld: Promise<void> | undefined;

  /** One writer at a time (runs resume together), each record once. */
  #writeHeldRecords(): Promise<void> {
    if (!this.#unwritten.length) return Promise.resolve();
    this.#writingHeld ??= (async () => {
      try {
        while (this.#unwritten.length) {
          await this.#audit.append(this.#unwritten[0]!);
          this.#unwritten.shift();
        }
      } finally {
        this.#writingHeld = undefined;
      }
    })();
    return this.#writingHeld;
  }
}

/** A run whose VM the bot made and has not deleted: succeeded, or being decommissioned. */
export function isOwnedVm(run: Pick<RunRecord, 'state' | 'decommission'>): boolean {
  return run.state === 'succeeded' || (run.state === 'cleaning_up' && run.decommission !== undefined);
}

/** Thrown when a run is asked to do two things at once. */
export class RunBusyError extends Error {
  override readonly name = 'RunBusy';
  readonly code = 'RUN_BUSY';
}

function asFailure(err: unknown): VergeosError | ProvisionFailure {
  if (err instanceof VergeosError || err instanceof ProvisionFailure) return err;
  return new ProvisionFailure('PROVISION_INTERNAL', `the bot hit an internal error (${(err as Error)?.message ?? String(err)})`);
}

/** A wait given up because the process is shutting down (not a failure: the step is redone at resume). */
class StopRequested extends Error {}
