/**
 * A run's audit records. A record a full disk refuses is held (in order) and written before the
 * next run goes on, or once a probe write works: the step it records stands either way.
 */
import type { Logger } from '../log.js';
import type { AuditEvent, AuditLog } from '../store/audit.js';
import { isUnwritable } from '../store/durable-file.js';
import type { RunRecord } from '../store/records.js';

export class RunAudit {
  readonly #audit: AuditLog;
  readonly #logger: Logger | undefined;
  /** Audit records a full disk refused, in order; written before the next run goes on. */
  readonly #unwritten: AuditEvent[] = [];
  #writingHeld: Promise<void> | undefined;

  constructor(audit: AuditLog, logger: Logger | undefined) {
    this.#audit = audit;
    this.#logger = logger;
  }

  async record(run: RunRecord, actor: string, action: string, outcome: AuditEvent['outcome'], detail?: string, keys?: Record<string, string>): Promise<void> {
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
  async recordOrHold(run: RunRecord, actor: string, action: string, outcome: AuditEvent['outcome'], detail?: string): Promise<void> {
    await this.record(run, actor, action, outcome, detail).catch((err: unknown) => {
      if (!isUnwritable(err)) throw err;
      this.#logger?.error({ runId: run.id, err: (err as Error).message }, 'an audit record is held until the disk takes writes');
    });
  }

  /** Audit records a full disk refused, written now: one writer at a time (runs resume together), each record once. */
  writeHeld(): Promise<void> {
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
