/**
 * The background sweeps, as core workflows: requests that waited for pre-flight decided once
 * VergeOS answers, pending requests expired, lease reminders / power-offs / deletions due, VMs
 * deleted outside the bot noticed. Each tells a `SweepObserver` what happened, as data; the
 * Slack edge renders it (DMs, the audit channel, App Home). Lease notices leave the VM's outbox
 * only once the observer has told them, so a restart delivers what was not. Their VergeOS calls
 * are labelled (sweep, lease, refresh) so the request budget serves them after people's work;
 * pre-flight inside a sweep labels its own.
 */
import type { LeaseEvent, Leases } from '../leases/leases.js';
import type { Logger } from '../log.js';
import type { GoneVm, Provisioner } from '../provision/provisioner.js';
import type { Requests } from '../requests/requests.js';
import type { RequestRecord, VmRecord } from '../store/records.js';
import { withPurpose } from '../vergeos/purpose.js';
import type { VmAddresses } from './vm-addresses.js';
import type { RequestFiling } from './file-request.js';

export interface SweepObserver {
  /** A request that waited for pre-flight was decided (filed pending, approved by a rule, or refused). */
  decided(request: RequestRecord): Promise<void>;
  /** A pending request expired with nobody deciding. */
  expired(request: RequestRecord): Promise<void>;
  /** A lease notice due to the owner (a reminder, a power-off, a deletion). */
  leaseNotice(event: LeaseEvent): Promise<void>;
  /** A VM the bot made was deleted outside it (it no longer counts against quotas). */
  vmGone(vm: GoneVm): Promise<void>;
  /** VergeOS reported a new VM's addresses (or they changed) while the bot was watching for them. */
  vmReachable(vm: VmRecord): Promise<void>;
}

export interface SweepDeps {
  requests: Requests;
  filing: RequestFiling;
  leases: Leases;
  provisioner: Provisioner;
  addresses: VmAddresses;
  logger?: Logger | undefined;
  /** How long the re-check of a request waiting for pre-flight may take (default 20 s). */
  waitingPreflightMs?: number | undefined;
}

const nobody: SweepObserver = {
  decided: async () => undefined,
  expired: async () => undefined,
  leaseNotice: async () => undefined,
  vmGone: async () => undefined,
  vmReachable: async () => undefined,
};

export class Sweeps {
  #observer: SweepObserver = nobody;

  constructor(private readonly deps: SweepDeps) {}

  /** Who is told what the sweeps find (set once by the edge that shows it). */
  observe(observer: SweepObserver): void {
    this.#observer = observer;
  }

  /** Requests: those that waited for pre-flight decided if VergeOS answers now; pending ones past their time expired. */
  requests(waitingPreflightMs = this.deps.waitingPreflightMs ?? 20_000): Promise<void> {
    return withPurpose('sweep', () => this.#requests(waitingPreflightMs));
  }

  async #requests(waitingPreflightMs: number): Promise<void> {
    const { requests, filing, logger } = this.deps;
    for (const waiting of requests.inState('waiting_preflight')) {
      const decided = await filing.decideWaiting(waiting.id, waitingPreflightMs).catch((err: unknown) => {
        logger?.warn({ requestId: waiting.id, err: (err as Error).message }, 'the pre-flight re-check failed; trying again later');
        return undefined;
      });
      if (decided) await this.#observer.decided(decided);
    }
    for (const expired of await requests.expireDue()) await this.#observer.expired(expired);
  }

  /**
   * Leases: what is due now, then every notice not yet delivered (also those a previous process
   * recorded and did not send), each removed from the outbox once told.
   */
  leases(): Promise<void> {
    return withPurpose('lease', () => this.#leases());
  }

  async #leases(): Promise<void> {
    const { leases } = this.deps;
    await leases.sweep();
    for (const { noticeId, event } of leases.outbox()) {
      await this.#observer.leaseNotice(event);
      await leases.delivered(event.vm.id, noticeId);
    }
  }

  /** New VMs' addresses, asked of VergeOS with back-off for a few minutes after each is ready; each change told. */
  async addresses(): Promise<void> {
    for (const vm of await withPurpose('refresh', () => this.deps.addresses.sweep())) await this.#observer.vmReachable(vm);
  }

  /**
   * VMs deleted outside the bot: marked gone (they stop counting against quotas), then told. First,
   * any VM made without a record (an older process on the same database) is given one.
   */
  async goneVms(): Promise<void> {
    await this.deps.provisioner.recordMissingVms();
    for (const vm of await withPurpose('sweep', () => this.deps.provisioner.noticeDeletedVms())) await this.#observer.vmGone(vm);
  }
}
