/**
 * App Home tabs stay current: when a request or a VM changes, the tabs it shows on are republished
 * (debounced, one publish per user per burst, paced as Slack's Tier 4 allows) — a request's
 * requester's, the leads' while it enters or leaves their "waiting for approval" list, a VM's
 * owner's. Nobody else's.
 */
import type { Logger } from '../log.js';
import type { Approvers } from './approvers.js';
import type { Requests } from '../requests/requests.js';
import { HOME_SHOWS, homeView } from './views/other.js';
import type { Notifier } from './notifier.js';
import type { SlackWebApi } from './web-api.js';
import type { RequestRecord, RequestState, VmRecord } from '../store/records.js';

/** States a request is in just as it joins or leaves the leads' pending list. */
const ON_LEADS_LIST: ReadonlySet<RequestState> = new Set(['pending', 'approved', 'rejected', 'cancelled', 'expired']);

export class HomeTabs {
  /** Users who opened the tab (kept current from then on), and which of them are leads. */
  readonly #viewers = new Set<string>();
  readonly #leadViewers = new Set<string>();
  /** Tabs to republish when the debounce ends. */
  readonly #due = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      slack: SlackWebApi;
      notifier: Notifier;
      requests: () => Requests;
      vmsOf: (user: string) => VmRecord[];
      approvers: Approvers;
      logger?: Logger;
    },
    private readonly debounceMs = 500,
  ) {}

  /** Publish now for this user, and keep them current from now on. */
  async opened(user: string): Promise<void> {
    this.#viewers.add(user);
    await this.#publish(user);
  }

  /** `request` changed: republish, shortly, the open tabs that show it. */
  changed(request: Pick<RequestRecord, 'requester' | 'state'>): void {
    this.changedFor(ON_LEADS_LIST.has(request.state) ? [request.requester, ...this.#leadViewers] : [request.requester]);
  }

  /** A VM changed (its lease, its power, deleted): republish, shortly, its owner's tab. */
  vmChanged(vm: Pick<VmRecord, 'owner'>): void {
    this.changedFor([vm.owner]);
  }

  /** Republish, shortly, these users' tabs (those of them who opened it). */
  changedFor(users: Iterable<string>): void {
    for (const user of users) if (this.#viewers.has(user)) this.#due.add(user);
    if (this.#timer || !this.#due.size) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const users = [...this.#due];
      this.#due.clear();
      for (const user of users) void this.#publish(user);
    }, this.debounceMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
  }

  async #publish(user: string): Promise<void> {
    try {
      const requests = this.deps.requests();
      const isLead = await this.deps.approvers.isApprover(this.deps.slack, user);
      if (isLead) this.#leadViewers.add(user);
      else this.#leadViewers.delete(user);
      await this.deps.notifier.publishHome(
        user,
        homeView(user, requests.byRequester(user, HOME_SHOWS), isLead ? requests.pending() : undefined, this.deps.vmsOf(user)) as unknown as Record<
          string,
          unknown
        >,
      );
    } catch (err) {
      this.deps.logger?.warn({ user, err: (err as Error).message }, 'App Home publish failed');
    }
  }
}
