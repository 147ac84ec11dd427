/**
 * Whether the bot can save its records now: the store's own failed write, the audit log's, or
 * the one a run paused on. Asked without I/O for readiness at every probe (`problem`), and of the
 * disk itself (`probe`) before runs are taken over, so a run paused on a full disk resumes as
 * soon as writes work and not before.
 */
import type { Provisioner } from '../provision/provisioner.js';
import type { AuditLog } from '../store/audit.js';
import type { Store } from '../store/store.js';
import type { RequestExecution } from './execute-request.js';

export class WriteHealth {
  constructor(private readonly deps: { store: Store; audit: AuditLog; provisioner: Provisioner; execution: RequestExecution }) {}

  /**
   * Why the bot can't save now, from what is known: the store's own failed write, or the one a
   * run paused on — which may be the audit log's, and the store does not see that one (a run's
   * step is saved in memory, then its audit record hits the full disk). Cleared by `probe`.
   */
  problem(): string | undefined {
    const health = this.deps.store.health();
    const audit = this.deps.audit.health?.() ?? { ok: true };
    return !health.ok ? health.problem : !audit.ok ? audit.problem : this.deps.execution.unwritable;
  }

  /** Asked of the storage itself: a probe write. Undefined when writes work. */
  async probe(): Promise<string | undefined> {
    const { execution, store, provisioner } = this.deps;
    const pausedOn = execution.unwritable;
    const health = await store.ping();
    if (!health.ok) return health.problem;
    // The probe wrote to the same place the audit log appends to (DATA_DIR, or the database);
    // a run that paused while it was under way stays told.
    if (execution.unwritable === pausedOn) execution.unwritable = undefined;
    const problem = this.problem();
    // Audit records a full disk refused after a run's final save: written now, not only when another run goes on.
    if (problem === undefined) await provisioner.writeHeldRecords().catch(() => undefined);
    return problem;
  }
}
