/**
 * Runs: a plan executed step by step against VergeOS, exactly once, and the day-2 actions on the
 * VMs they made. `Provisioner` is the one object callers construct; it composes the parts, each
 * one job: claims (claims.ts), the step executor (executor.ts), teardown (teardown.ts), reads
 * (queries.ts), runs before they execute (new-runs.ts), VMs deleted outside the bot
 * (deleted-vms.ts), audit records (run-audit.ts) and one file per VM action (actions/).
 */
import type { Logger } from '../log.js';
import type { AuditLog } from '../store/audit.js';
import type { RunRecord, RunState, VmRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { VergeosApi } from '../vergeos/client.js';
import type { VmSpec } from '../vmspec/schema.js';
import { applyChange, reserveChange, resumeChanges, withdrawReservedChange, type AskedChange, type ChangeResult } from './actions/change.js';
import { decommission } from './actions/decommission.js';
import { power } from './actions/power.js';
import { transfer } from './actions/transfer.js';
import { RunClaims } from './claims.js';
import type { ProvisionContext } from './context.js';
import { noticeDeletedVms, type GoneVm } from './deleted-vms.js';
import { recordMissingVms } from '../store/vms-from-runs.js';
import type { RunEventListener, RunMeta } from './events.js';
import { StepExecutor } from './executor.js';
import { createRuns, markNotStarted } from './new-runs.js';
import { RunQueries } from './queries.js';
import { RunAudit } from './run-audit.js';
import { cleanup } from './teardown.js';
import { withDeadline, withPurpose } from '../vergeos/purpose.js';

export { RunBusyError } from './errors.js';
export { ChangeFailure, type AskedChange, type ChangeResult } from './actions/change.js';
export type { GoneVm } from './deleted-vms.js';
export type { RunEvent, RunEventListener, RunMeta } from './events.js';

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

export class Provisioner {
  readonly #ctx: ProvisionContext;
  readonly #claims: RunClaims;
  readonly #runs: RunQueries;
  readonly #records: RunAudit;
  readonly #executor: StepExecutor;
  /** Who this process is, in run claims (several bot processes may share one database). */
  readonly owner: string;
  readonly claimTtlMs: number;

  constructor(options: ProvisionerOptions) {
    this.#claims = new RunClaims(options.store, options.logger, options.claimTtlMs ?? 30_000);
    this.#runs = new RunQueries(options.store);
    this.#records = new RunAudit(options.audit, options.logger);
    this.#ctx = {
      api: options.vergeos,
      store: options.store,
      records: this.#records,
      claims: this.#claims,
      runs: this.#runs,
      logger: options.logger,
      stopTiming: { timeoutMs: options.stopTimeoutMs ?? 60_000, pollMs: options.pollMs ?? 1_000 },
    };
    this.#executor = new StepExecutor(this.#ctx, options.importPoll ?? { intervalMs: 5_000, timeoutMs: 30 * 60_000 });
    this.owner = this.#claims.owner;
    this.claimTtlMs = this.#claims.ttlMs;
  }

  // Claims and shutdown.

  /** Hold runs this process will execute soon (a batch's queue); the ones another process holds are left out. */
  hold(runIds: readonly string[]): Promise<string[]> {
    return this.#claims.hold(runIds);
  }

  unhold(runIds: readonly string[]): Promise<void> {
    return this.#claims.unhold(runIds);
  }

  /** Whether this process is executing the run now. */
  isExecuting(runId: string): boolean {
    return this.#claims.isExecuting(runId);
  }

  /** Runs (and cleanups) executing now. */
  get inFlight(): number {
    return this.#claims.inFlight;
  }

  get stopping(): boolean {
    return this.#claims.stopping;
  }

  /**
   * For a graceful shutdown: start nothing new; each run finishes the VergeOS call it has in flight,
   * saves its outcome and stops, left `running` so the next start resumes it. Resolves when no run
   * executes (the caller bounds the wait).
   */
  stop(): Promise<void> {
    return this.#claims.stop();
  }

  // Runs: created, executed, torn down.

  async createRun(spec: VmSpec, meta: RunMeta): Promise<RunRecord> {
    return (await this.createRuns([spec], meta))[0]!;
  }

  /** Several runs stored in one write, each with its own id. */
  createRuns(specs: VmSpec[], meta: RunMeta): Promise<RunRecord[]> {
    return createRuns(this.#ctx, specs, meta);
  }

  /** Pending runs a stopped batch will not start: `not_started`, with the reason. */
  markNotStarted(runIds: readonly string[], reason: string, actor: string): Promise<RunRecord[]> {
    return markNotStarted(this.#ctx, runIds, reason, actor);
  }

  /**
   * Execute (or resume, or retry) a run until it succeeds or a step fails. Safe to call on a run
   * that was interrupted at any point: nothing is created twice.
   */
  execute(runId: string, listener?: RunEventListener, actor = 'vmbot'): Promise<RunRecord> {
    // A stop cuts short a wait for the request budget (nothing sent then); the call in flight finishes.
    return withPurpose('provision', () => withDeadline(this.#claims.stopSignal, () => this.#executor.execute(runId, listener, actor)));
  }

  /** Whether a run was last paused by a store that took no writes (cleared when it runs again). */
  pausedForStore(runId: string): boolean {
    return this.#executor.pausedForStore(runId);
  }

  /** For the bot once a probe write works: audit records a full disk refused, written now. */
  writeHeldRecords(): Promise<void> {
    return this.#records.writeHeld();
  }

  /** Delete what a failed run created (exactly once; an interrupted cleanup is resumed). */
  cleanup(runId: string, actor: string): Promise<RunRecord> {
    return withPurpose('provision', () => cleanup(this.#ctx, runId, actor));
  }

  /** Records for VMs made without one (an older process on the same database); how many. */
  recordMissingVms(): Promise<number> {
    return recordMissingVms(this.#ctx.store);
  }

  /** VMs deleted outside the bot, marked gone (they stop counting against quotas). */
  noticeDeletedVms(): Promise<GoneVm[]> {
    return noticeDeletedVms(this.#ctx);
  }

  // Day-2 actions on a VM the bot made.

  /** Delete a provisioned VM on purpose; the run ends `decommissioned`. */
  decommission(runId: string, actor: string): Promise<RunRecord> {
    return decommission(this.#ctx, runId, actor);
  }

  /** Power on or off; says whether it did or the VM already was. */
  power(runId: string, action: 'on' | 'off', actor: string): Promise<'done' | 'already'> {
    return power(this.#ctx, runId, action, actor);
  }

  /** Hand a VM to another owner (exactly once per call). */
  transfer(runId: string, to: string, actor: string): Promise<VmRecord> {
    return transfer(this.#ctx, runId, to, actor);
  }

  /** Change the VM (resize, drives, NICs, snapshots) exactly once per `asked.id`; a refusal throws `ChangeFailure`. */
  change(runId: string, asked: AskedChange): Promise<ChangeResult> {
    return withPurpose('change', () => applyChange(this.#ctx, runId, asked));
  }

  /** Record a change the policy allowed as under way (quotas count it) before it is sent; busy while another is. */
  reserveChange(runId: string, asked: AskedChange): Promise<VmRecord> {
    return reserveChange(this.#ctx, runId, asked);
  }

  /** Withdraw a reserved change never sent (its asker found the VM busy). */
  withdrawReservedChange(runId: string, id: string): Promise<void> {
    return withdrawReservedChange(this.#ctx, runId, id);
  }

  /** Changes a stopped process left in flight on this VM, finished (looked up before anything is sent). */
  resumeChanges(runId: string): Promise<ChangeResult[]> {
    return withPurpose('change', () => resumeChanges(this.#ctx, runId));
  }

  /** VMs with a change left in flight (a stopped process): resume these at start-up. */
  vmsWithChangesInFlight(): VmRecord[] {
    return this.#runs.ownedVms().filter((vm) => vm.changes?.some((c) => c.status === 'in_flight'));
  }

  // Reads.

  /** The run made for a request, if any (a restart between approval and start must not make two). */
  runForRequest(requestId: string): RunRecord | undefined {
    return this.#runs.runForRequest(requestId);
  }

  /** A request's runs (one, or a batch's), in the order they were created. */
  runsForRequest(requestId: string): RunRecord[] {
    return this.#runs.runsForRequest(requestId);
  }

  /** The runs of a batch, in the order they were created. */
  runsOfBatch(batchId: string): RunRecord[] {
    return this.#runs.runsOfBatch(batchId);
  }

  /** VMs the bot made that still exist as far as it knows (and those noticed gone). */
  ownedVms(): VmRecord[] {
    return this.#runs.ownedVms();
  }

  /** One VM the bot made and still manages, by the id of the run that made it. */
  ownedVm(runId: string): VmRecord | undefined {
    return this.#runs.ownedVm(runId);
  }

  /** The VMs `user` owns (asked for, or was handed). */
  vmsOwnedBy(user: string): VmRecord[] {
    return this.#runs.vmsOwnedBy(user);
  }

  /** Copies of the runs in these states that pass `filter`, oldest first. */
  runsInStates(states: readonly RunState[], filter?: (run: Readonly<RunRecord>) => boolean): RunRecord[] {
    return this.#runs.runsInStates(states, filter);
  }

  /** Runs interrupted mid-way (the process died): resume these at start-up. */
  interruptedRuns(): RunRecord[] {
    return this.#runs.interruptedRuns();
  }
}
