/**
 * Leases on the VMs the bot made: reminders before the end, power-off at the end, deletion after
 * a grace period unless extended meanwhile. Durable and exactly once across restarts: each step is
 * claimed by a compare-and-set on the run before it acts (a reminder is marked sent before it is
 * told; a power-off is claimed, done, then recorded, and a claimed one is finished after a
 * restart); the deletion is the provisioner's decommission, itself resumable.
 */
import { leaseActionsTotal, leaseSweepsTotal } from '../ops/metrics.js';
import type { Provisioner } from '../provision/provisioner.js';
import type { AuditLog } from '../store/audit.js';
import type { RunRecord } from '../store/records.js';
import { StoreError, type Store } from '../store/store.js';
import { formatDuration } from '../vmspec/units.js';

export interface LeaseOptions {
  /** Reminders this long before the end (default 3 days and 1 day). */
  remindBeforeMs?: number[];
  /** After the end and power-off, deleted this long later unless extended (default 3 days). */
  graceMs?: number;
  /** The clock (tests move it). */
  now?: () => number;
}

export type LeaseEvent =
  | { type: 'reminder'; run: RunRecord; endsAt: string; inMs: number }
  | { type: 'expired'; run: RunRecord; deleteAt: string }
  | { type: 'deleted'; run: RunRecord }
  | { type: 'delete_failed'; run: RunRecord; message: string };

export type ExtendOutcome = { ok: true; run: RunRecord; endsAt: string } | { ok: false; code: 'no_vm' | 'past' | 'beyond_max' | 'changed'; reason: string };

const DAY = 86_400_000;

export class Leases {
  readonly #store: Store;
  readonly #audit: AuditLog;
  readonly #provisioner: Provisioner;
  readonly #remindBefore: number[];
  readonly #graceMs: number;
  readonly #now: () => number;

  constructor(deps: { store: Store; audit: AuditLog; provisioner: Provisioner }, options: LeaseOptions = {}) {
    this.#store = deps.store;
    this.#audit = deps.audit;
    this.#provisioner = deps.provisioner;
    this.#remindBefore = [...(options.remindBeforeMs ?? [3 * DAY, DAY])].sort((a, b) => b - a);
    this.#graceMs = options.graceMs ?? 3 * DAY;
    this.#now = options.now ?? Date.now;
  }

  get graceMs(): number {
    return this.#graceMs;
  }

  /** The clock leases run on. */
  now(): number {
    return this.#now();
  }

  #leased(): RunRecord[] {
    return this.#store.runsBy('state', 'succeeded', (r) => !r.goneAt && r.lease?.endsAt !== undefined);
  }

  /** Claim a change on a run; undefined when someone else changed it first (they act, not us). */
  async #claim(run: RunRecord, mutate: (r: RunRecord) => void): Promise<RunRecord | undefined> {
    try {
      return await this.#store.updateRun(run.id, { version: run.version, states: ['succeeded'] }, mutate);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'STORE_CONFLICT') return undefined;
      throw err;
    }
  }

  async #record(run: RunRecord, action: string, detail: string): Promise<void> {
    await this.#audit.append({
      actor: 'lease',
      action,
      runId: run.id,
      ...(run.requestId ? { requestId: run.requestId } : {}),
      vmName: run.spec.vm.name,
      keys: { vm: run.keys.vmKey ?? '', machine: run.keys.machineKey ?? '' },
      outcome: 'info',
      detail,
    });
  }

  /** Everything due now, each exactly once: reminders, power-offs, deletions. Returns what happened. */
  async sweep(): Promise<LeaseEvent[]> {
    try {
      const events = await this.#sweep();
      leaseSweepsTotal.inc({ outcome: 'ok' });
      for (const e of events) leaseActionsTotal.inc({ action: e.type });
      return events;
    } catch (err) {
      leaseSweepsTotal.inc({ outcome: 'failed' });
      throw err;
    }
  }

  async #sweep(): Promise<LeaseEvent[]> {
    const events: LeaseEvent[] = [];
    const now = this.#now();
    // A lease deletion that did not finish (VergeOS refused, or the process stopped): resumed.
    for (const run of this.#store.runsBy('state', 'cleaning_up', (r) => r.decommission?.by === 'lease')) {
      const done = await this.#provisioner.decommission(run.id, 'lease').catch((err: unknown) => err as Error);
      if (!(done instanceof Error)) events.push(await this.#afterDelete(done));
    }
    for (let run of this.#leased()) {
      const lease = run.lease!;
      const endsAt = Date.parse(lease.endsAt!);
      if (now < endsAt) {
        const due = this.#remindBefore.filter((before) => now >= endsAt - before && !lease.reminded.includes(before));
        if (!due.length) continue;
        const marked = await this.#claim(run, (r) => {
          r.lease!.reminded.push(...due);
          r.lease!.outbox.push({ id: `reminder-${due.at(-1)}-${lease.endsAt}`, event: 'reminder', endsAt: lease.endsAt!, inMs: endsAt - now });
        });
        if (!marked) continue;
        await this.#record(marked, 'lease.reminder', `lease ends ${lease.endsAt} (in ${formatDuration(Math.max(0, endsAt - now))})`);
        events.push({ type: 'reminder', run: marked, endsAt: lease.endsAt!, inMs: endsAt - now });
        continue;
      }
      if (!lease.expiredAt) {
        if (!lease.expiring) {
          const claimed = await this.#claim(run, (r) => (r.lease!.expiring = new Date(now).toISOString()));
          if (!claimed) continue;
          run = claimed;
        }
        // Claimed (now or by a process that stopped before finishing): power off, then record.
        // If VergeOS or a concurrent action gets in the way, the claim stands and the next sweep tries again.
        const off = await this.#provisioner.power(run.id, 'off', 'lease').then(
          () => true,
          () => false,
        );
        if (!off) continue;
        const deleteAt = new Date(endsAt + this.#graceMs).toISOString();
        const expired = await this.#claim(this.#store.getRun(run.id)!, (r) => {
          r.lease!.expiredAt = new Date(now).toISOString();
          r.lease!.outbox.push({ id: `expired-${lease.endsAt}`, event: 'expired', deleteAt });
        });
        if (!expired) continue;
        await this.#record(expired, 'lease.expired', `powered off; deleted ${deleteAt} unless extended`);
        events.push({ type: 'expired', run: expired, deleteAt });
        continue;
      }
      if (now >= endsAt + this.#graceMs) {
        const done = await this.#provisioner.decommission(run.id, 'lease').catch((err: unknown) => err as Error);
        if (done instanceof Error) continue; // busy (someone deleting it now) or changed: looked at again next sweep
        events.push(await this.#afterDelete(done));
      }
    }
    return events;
  }

  /** A decommission's outcome as an event; a deletion is also put in the owner's outbox. */
  async #afterDelete(done: RunRecord): Promise<LeaseEvent> {
    if (done.state !== 'decommissioned') return { type: 'delete_failed', run: done, message: done.error?.message ?? 'deletion failed' };
    const told = await this.#store
      .updateRun(done.id, { version: done.version }, (r) => r.lease?.outbox.push({ id: 'deleted', event: 'deleted' }))
      .catch(() => done);
    return { type: 'deleted', run: told };
  }

  /** What owners are still to be told (oldest first), as events to render. */
  outbox(): Array<{ noticeId: string; event: LeaseEvent }> {
    const out: Array<{ noticeId: string; event: LeaseEvent }> = [];
    for (const run of this.#store.listRuns((r) => (r.lease?.outbox.length ?? 0) > 0)) {
      for (const n of run.lease!.outbox) {
        const event: LeaseEvent =
          n.event === 'reminder'
            ? { type: 'reminder', run, endsAt: n.endsAt!, inMs: n.inMs ?? 0 }
            : n.event === 'expired'
              ? { type: 'expired', run, deleteAt: n.deleteAt! }
              : { type: 'deleted', run };
        out.push({ noticeId: n.id, event });
      }
    }
    return out;
  }

  /** A notice was delivered: out of the outbox (retried on a concurrent change). */
  async delivered(runId: string, noticeId: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const run = this.#store.getRun(runId);
      if (!run?.lease?.outbox.some((n) => n.id === noticeId)) return;
      try {
        await this.#store.updateRun(runId, { version: run.version }, (r) => {
          r.lease!.outbox = r.lease!.outbox.filter((n) => n.id !== noticeId);
        });
        return;
      } catch (err) {
        if (!(err instanceof StoreError && err.code === 'STORE_CONFLICT')) throw err;
      }
    }
  }

  /**
   * A new end for a VM's lease, within its maximum from now (beyond it, `ok: false` says so:
   * that needs a lead). The reminders start over; a VM powered off at expiry stays off until
   * someone powers it on.
   */
  async extend(runId: string, until: Date, actor: string, options: { beyondMax?: boolean } = {}): Promise<ExtendOutcome> {
    const run = this.#store.getRun(runId);
    if (!run || run.state !== 'succeeded' || run.goneAt) return { ok: false, code: 'no_vm', reason: `there is no VM of run ${runId} to extend` };
    const now = this.#now();
    if (until.getTime() <= now) return { ok: false, code: 'past', reason: 'the new end must be in the future' };
    const max = run.lease?.maxMs;
    if (max !== undefined && until.getTime() > now + max && !options.beyondMax)
      return {
        ok: false,
        code: 'beyond_max',
        reason: `that is beyond its maximum lease of ${formatDuration(max)} from now (until ${new Date(now + max).toISOString()}); a lead has to allow longer`,
      };
    const extended = await this.#claim(run, (r) => {
      r.lease = {
        forMs: r.lease?.forMs ?? until.getTime() - now,
        ...(max !== undefined ? { maxMs: max } : {}),
        endsAt: until.toISOString(),
        reminded: [],
        outbox: r.lease?.outbox ?? [],
      };
    });
    if (!extended) return { ok: false, code: 'changed', reason: `${run.spec.vm.name} changed meanwhile (being deleted?); nothing was changed` };
    await this.#audit.append({
      actor,
      action: 'lease.extended',
      runId: run.id,
      ...(run.requestId ? { requestId: run.requestId } : {}),
      vmName: run.spec.vm.name,
      outcome: 'ok',
      detail: `lease ends ${until.toISOString()}${run.lease?.endsAt ? ` (was ${run.lease.endsAt})` : ''}${options.beyondMax ? ', beyond its maximum, approved' : ''}`,
    });
    return { ok: true, run: extended, endsAt: until.toISOString() };
  }
}
