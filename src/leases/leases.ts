/**
 * Leases on the VMs the bot made: reminders before the end, power-off at the end, deletion after
 * a grace period unless extended meanwhile. Leases live on VM records. Durable and exactly once
 * across restarts: each step is claimed by a compare-and-set on the VM record before it acts (a reminder is marked sent before it is
 * told; a power-off is claimed, done, then recorded, and a claimed one is finished after a
 * restart); the deletion is claimed on the VM record (`deleting`), then the provisioner's
 * decommission of the run that made it, itself resumable.
 *
 * An extension wins a race with the sweep: each step is claimed by a compare-and-set on the
 * version the sweep read, the same one an extension makes, so an extension that landed since makes
 * the claim fail. One that lands while VergeOS is powering the VM off is found afterwards, and the
 * VM is powered on again.
 */
import { isConflict } from '../errors.js';
import { leaseActionsTotal, leaseSweepsTotal } from '../ops/metrics.js';
import type { Provisioner } from '../provision/provisioner.js';
import type { AuditLog } from '../store/audit.js';
import type { RunRecord, VmRecord } from '../store/records.js';
import { vmIdOf } from '../store/vm-record.js';
import type { Store } from '../store/store.js';
import { formatDuration } from '../vmspec/units.js';

export interface LeaseOptions {
  /** Reminders this long before the end (default 3 days and 1 day). */
  remindBeforeMs?: number[];
  /** After the end and power-off, deleted this long later unless extended (default 3 days). */
  graceMs?: number;
  /** The clock (tests move it). */
  now?: () => number;
  /**
   * Called when a sweep has read a VM and found a power-off or deletion due, before it claims the
   * step (tests land a concurrent extension here, deterministically).
   */
  beforeAct?: (action: 'power_off' | 'delete', vm: VmRecord) => Promise<void> | void;
}

/** A new end: `until` sets it; `by` adds to the current end (from now for a VM kept until deleted). */
export type LeaseChange = { until: Date } | { by: number };

export type LeaseEvent =
  | { type: 'reminder'; vm: VmRecord; endsAt: string; inMs: number }
  | { type: 'expired'; vm: VmRecord; deleteAt: string }
  | { type: 'deleted'; vm: VmRecord }
  | { type: 'delete_failed'; vm: VmRecord; message: string };

export type ExtendOutcome =
  | { ok: true; vm: VmRecord; endsAt: string; /** The end before (absent: it was kept until deleted). */ was?: string }
  | { ok: false; code: 'no_vm' | 'no_lease' | 'past' | 'beyond_max' | 'changed'; reason: string };

const DAY = 86_400_000;

export class Leases {
  readonly #store: Store;
  readonly #audit: AuditLog;
  readonly #provisioner: Provisioner;
  readonly #remindBefore: number[];
  readonly #graceMs: number;
  readonly #now: () => number;
  readonly #beforeAct: LeaseOptions['beforeAct'];

  constructor(deps: { store: Store; audit: AuditLog; provisioner: Provisioner }, options: LeaseOptions = {}) {
    this.#store = deps.store;
    this.#audit = deps.audit;
    this.#provisioner = deps.provisioner;
    this.#remindBefore = [...(options.remindBeforeMs ?? [3 * DAY, DAY])].sort((a, b) => b - a);
    this.#graceMs = options.graceMs ?? 3 * DAY;
    this.#now = options.now ?? Date.now;
    this.#beforeAct = options.beforeAct;
  }

  get graceMs(): number {
    return this.#graceMs;
  }

  /** The clock leases run on. */
  now(): number {
    return this.#now();
  }

  #leased(): VmRecord[] {
    return this.#store.vmsBy('state', 'live', (v) => v.lease?.endsAt !== undefined);
  }

  /** Claim a change on a live VM; undefined when someone else changed it first (they act, not us). */
  async #claim(vm: VmRecord, mutate: (v: VmRecord) => void): Promise<VmRecord | undefined> {
    try {
      return await this.#store.updateVm(vm.id, { version: vm.version, states: ['live'] }, mutate);
    } catch (err) {
      if (isConflict(err)) return undefined;
      throw err;
    }
  }

  async #record(vm: VmRecord, action: string, detail: string): Promise<void> {
    await this.#audit.append({
      actor: 'lease',
      action,
      runId: vm.runId,
      ...(vm.requestId ? { requestId: vm.requestId } : {}),
      vmName: vm.name,
      keys: { vm: vm.keys.vmKey, machine: vm.keys.machineKey ?? '' },
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
    // A deletion that did not finish (VergeOS refused, or the process stopped, perhaps before the
    // run was touched): resumed, as whoever asked for it. A lease's own is told to the owner.
    for (const vm of this.#store.vmsBy('state', 'deleting')) {
      const by = vm.deleting?.by ?? 'lease';
      const done = await this.#provisioner.decommission(vm.runId, by).catch((err: unknown) => err as Error);
      if (!(done instanceof Error) && by === 'lease') events.push(await this.#afterDelete(vm, done));
    }
    for (const vm of this.#leased()) {
      const lease = vm.lease!;
      const endsAt = Date.parse(lease.endsAt!);
      if (now < endsAt) {
        const due = this.#remindBefore.filter((before) => now >= endsAt - before && !lease.reminded.includes(before));
        if (!due.length) continue;
        const marked = await this.#claim(vm, (v) => {
          v.lease!.reminded.push(...due);
          v.lease!.outbox.push({ id: `reminder-${due.at(-1)}-${lease.endsAt}`, event: 'reminder', endsAt: lease.endsAt!, inMs: endsAt - now });
        });
        if (!marked) continue;
        await this.#record(marked, 'lease.reminder', `lease ends ${lease.endsAt} (in ${formatDuration(Math.max(0, endsAt - now))})`);
        events.push({ type: 'reminder', vm: marked, endsAt: lease.endsAt!, inMs: endsAt - now });
        continue;
      }
      if (!lease.expiredAt) {
        const expired = await this.#expire(vm, now);
        if (expired) events.push(expired);
        continue;
      }
      if (now >= endsAt + this.#graceMs) {
        await this.#beforeAct?.('delete', vm);
        // Under the same compare-and-set as an extension: one that landed since this sweep read the
        // VM makes this fail, and the VM stays. Once it is being deleted, an extension is refused.
        const claimed = await this.#claim(vm, (v) => {
          v.state = 'deleting';
          v.deleting = { by: 'lease', at: new Date(now).toISOString() };
        });
        if (!claimed) continue;
        const done = await this.#provisioner.decommission(vm.runId, 'lease').catch((err: unknown) => err as Error);
        if (done instanceof Error) continue; // busy (someone acting on it now): resumed by the next sweep
        events.push(await this.#afterDelete(claimed, done));
      }
    }
    return events;
  }

  /**
   * The end of a lease: claim the power-off, do it, record it. The claim is made on the version this
   * sweep read (a claim left by a process that stopped is taken over the same way), so an
   * extension that landed since wins. One that lands while VergeOS powers the VM off is found when
   * the power-off is recorded: the VM is powered on again and nothing is recorded as expired.
   */
  async #expire(vm: VmRecord, now: number): Promise<LeaseEvent | undefined> {
    const lease = vm.lease!;
    await this.#beforeAct?.('power_off', vm);
    const claimed = await this.#claim(vm, (v) => (v.lease!.expiring ??= new Date(now).toISOString()));
    if (!claimed) return undefined;
    // VergeOS or a concurrent action in the way: the claim stands and the next sweep tries again.
    const off = await this.#provisioner.power(vm.runId, 'off', 'lease').catch(() => undefined);
    if (!off) return undefined;
    const deleteAt = new Date(Date.parse(lease.endsAt!) + this.#graceMs).toISOString();
    for (let attempt = 0; attempt < 5; attempt++) {
      await this.#store.catchUp('vms', vm.id);
      const current = this.#store.getVm(vm.id);
      if (!current || current.state !== 'live' || current.lease?.expiredAt) return undefined;
      if (!current.lease?.expiring || current.lease.endsAt !== lease.endsAt) {
        if (off === 'done') await this.#powerOnAgain(current, lease.endsAt!);
        return undefined;
      }
      const expired = await this.#claim(current, (v) => {
        v.lease!.expiredAt = new Date(now).toISOString();
        v.lease!.outbox.push({ id: `expired-${lease.endsAt}`, event: 'expired', deleteAt });
      });
      if (!expired) continue; // something else changed it (a notice delivered): look again
      await this.#record(expired, 'lease.expired', `powered off; deleted ${deleteAt} unless extended`);
      return { type: 'expired', vm: expired, deleteAt };
    }
    return undefined;
  }

  /** Extended while it was being powered off at the end of its lease: the extension wins. */
  async #powerOnAgain(vm: VmRecord, oldEnd: string): Promise<void> {
    const on = await this.#provisioner.power(vm.runId, 'on', 'lease').catch((err: unknown) => err as Error);
    const detail = `lease was extended to ${vm.lease?.endsAt ?? 'later'} while it was being powered off at the end of ${oldEnd}`;
    await this.#record(
      vm,
      'lease.expiry_cancelled',
      on instanceof Error ? `${detail}; powering it on again failed (${on.message}): power it on by hand` : `${detail}; powered on again`,
    );
  }

  /** A decommission's outcome as an event; a deletion is also put in the owner's outbox. */
  async #afterDelete(vm: VmRecord, done: RunRecord): Promise<LeaseEvent> {
    const now = this.#store.getVm(vm.id) ?? vm;
    if (done.state !== 'decommissioned') return { type: 'delete_failed', vm: now, message: done.error?.message ?? 'deletion failed' };
    const told = await this.#store
      .updateVm(now.id, { version: now.version }, (v) => v.lease?.outbox.push({ id: 'deleted', event: 'deleted' }))
      .catch(() => now);
    return { type: 'deleted', vm: told };
  }

  /** What owners are still to be told (oldest first), as events to render. */
  outbox(): Array<{ noticeId: string; event: LeaseEvent }> {
    const out: Array<{ noticeId: string; event: LeaseEvent }> = [];
    for (const vm of this.#store.listVms((v) => (v.lease?.outbox.length ?? 0) > 0)) {
      for (const n of vm.lease!.outbox) {
        const event: LeaseEvent =
          n.event === 'reminder'
            ? { type: 'reminder', vm, endsAt: n.endsAt!, inMs: n.inMs ?? 0 }
            : n.event === 'expired'
              ? { type: 'expired', vm, deleteAt: n.deleteAt! }
              : { type: 'deleted', vm };
        out.push({ noticeId: n.id, event });
      }
    }
    return out;
  }

  /** A notice was delivered: out of the outbox (retried on a concurrent change). */
  async delivered(vmId: string, noticeId: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const vm = this.#store.getVm(vmId);
      if (!vm?.lease?.outbox.some((n) => n.id === noticeId)) return;
      try {
        await this.#store.updateVm(vmId, { version: vm.version }, (v) => {
          v.lease!.outbox = v.lease!.outbox.filter((n) => n.id !== noticeId);
        });
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
  }

  /**
   * A new end for a VM's lease: `{ until }` sets it, `{ by }` adds to the current end (a `Date` is
   * `{ until }`). Within its maximum from now (beyond it, `ok: false` says so: that needs a lead).
   * A VM kept until deleted gets a lease only with `setLease` — a lease ends in its deletion, so
   * that is never a side effect of extending. The reminders start over; a VM powered off at expiry
   * stays off until someone powers it on. Checked and written in one compare-and-set on the VM
   * record's version read (read again if something else changed it meanwhile). `runId`: the run that
   * made the VM (what buttons and extension requests name).
   */
  async extend(runId: string, change: Date | LeaseChange, actor: string, options: { beyondMax?: boolean; setLease?: boolean } = {}): Promise<ExtendOutcome> {
    const wanted: LeaseChange = change instanceof Date ? { until: change } : change;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt) await this.#store.catchUp('vms', vmIdOf(runId));
      const vm = this.#store.getVm(vmIdOf(runId));
      const checked = this.#newEnd(runId, vm, wanted, options);
      if ('ok' in checked) return checked;
      const { until, now } = checked;
      const was = vm!.lease?.endsAt;
      const max = vm!.lease?.maxMs;
      const extended = await this.#claim(vm!, (v) => {
        v.lease = {
          forMs: v.lease?.forMs ?? until - now,
          ...(max !== undefined ? { maxMs: max } : {}),
          endsAt: new Date(until).toISOString(),
          reminded: [],
          outbox: v.lease?.outbox ?? [],
        };
      });
      if (!extended) continue; // changed since it was read: check again against what it is now
      const endsAt = new Date(until).toISOString();
      await this.#audit.append({
        actor,
        action: 'lease.extended',
        runId,
        ...(vm!.requestId ? { requestId: vm!.requestId } : {}),
        vmName: vm!.name,
        outcome: 'ok',
        detail: `lease ends ${endsAt}${was ? ` (was ${was})` : ' (was kept until deleted)'}${options.beyondMax ? ', beyond its maximum, approved' : ''}`,
      });
      return { ok: true, vm: extended, endsAt, ...(was ? { was } : {}) };
    }
    return { ok: false, code: 'changed', reason: 'it kept changing meanwhile (being acted on?); nothing was changed, try again' };
  }

  /** The end a change asks for, or why it cannot have it. */
  #newEnd(
    runId: string,
    vm: VmRecord | undefined,
    wanted: LeaseChange,
    options: { beyondMax?: boolean; setLease?: boolean },
  ): { until: number; now: number } | Extract<ExtendOutcome, { ok: false }> {
    if (!vm || vm.state !== 'live') {
      const reason = !vm
        ? `there is no VM of run ${runId} to extend`
        : vm.state === 'gone'
          ? `${vm.name} was deleted outside the bot`
          : vm.state === 'deleting'
            ? `${vm.name} is being deleted; its lease can no longer be extended`
            : `there is no VM of run ${runId} to extend (it is ${vm.state})`;
      return { ok: false, code: 'no_vm', reason };
    }
    const end = vm.lease?.endsAt;
    if (!end && !options.setLease)
      return {
        ok: false,
        code: 'no_lease',
        reason: `${vm.name} is kept until deleted, so it has no lease to extend; giving it one (powered off at its end, deleted ${formatDuration(this.#graceMs)} later) has to be asked for explicitly`,
      };
    const now = this.#now();
    const until = 'until' in wanted ? wanted.until.getTime() : (end ? Date.parse(end) : now) + wanted.by;
    if (Number.isNaN(until)) return { ok: false, code: 'past', reason: 'the new end is not a date' };
    if (until <= now) return { ok: false, code: 'past', reason: `the new end must be in the future (${new Date(until).toISOString()} has passed)` };
    const max = vm.lease?.maxMs;
    if (max !== undefined && until > now + max && !options.beyondMax)
      return {
        ok: false,
        code: 'beyond_max',
        reason: `that is beyond its maximum lease of ${formatDuration(max)} from now (until ${new Date(now + max).toISOString()}); a lead has to allow longer`,
      };
    return { until, now };
  }
}
