/**
 * App Home tabs stay current: everyone who has opened the tab gets it republished (debounced)
 * whenever a request changes, so a lead's pending list and a requester's states are never stale.
 */
import type { Logger } from '../log.js';
import type { Approvers } from './approvers.js';
import type { Requests } from '../requests/requests.js';
import { homeView } from './views/other.js';
import type { Notifier } from './notifier.js';
import type { RunRecord } from '../store/records.js';
import type { SlackWebApi } from './web-api.js';

export class HomeTabs {
  readonly #viewers = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      slack: SlackWebApi;
      notifier: Notifier;
      requests: () => Requests;
      vmsOf: (user: string) => RunRecord[];
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

  /** Something changed: republish every known tab shortly (one publish per user per burst). */
  changed(): void {
    if (this.#timer || !this.#viewers.size) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      for (const user of this.#viewers) void this.#publish(user);
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
      await this.deps.notifier.publishHome(
        user,
        homeView(user, requests.byRequester(user), isLead ? requests.pending() : undefined, this.deps.vmsOf(user)) as unknown as Record<string, unknown>,
      );
    } catch (err) {
      this.deps.logger?.warn({ user, err: (err as Error).message }, 'App Home publish failed');
    }
  }
}
