/**
 * Who may approve: the user ids in VM_APPROVERS, plus members of the user groups (S…) listed
 * there, resolved through Slack and cached for a few minutes.
 */
import type { SlackWebApi } from './web-api.js';
import type { Logger } from '../log.js';

export class Approvers {
  readonly #users: Set<string>;
  readonly #groups: string[];
  readonly #ttlMs: number;
  readonly #logger: Logger | undefined;
  #resolved: { at: number; members: Set<string> } | undefined;
  /** Members per Slack user group (for the approval policy), each cached for the TTL. */
  readonly #memberCache = new Map<string, { at: number; members: Promise<Set<string>> }>();

  constructor(ids: string[], options: { ttlMs?: number; logger?: Logger } = {}) {
    this.#users = new Set(ids.filter((id) => !id.startsWith('S')));
    this.#groups = ids.filter((id) => id.startsWith('S'));
    this.#ttlMs = options.ttlMs ?? 5 * 60_000;
    this.#logger = options.logger;
  }

  async isApprover(client: SlackWebApi, user: string): Promise<boolean> {
    if (this.#users.has(user)) return true;
    if (!this.#groups.length) return false;
    return (await this.#groupMembers(client)).has(user);
  }

  /** Members of one Slack user group, cached briefly; a group Slack cannot resolve has none (fail closed). */
  async members(client: SlackWebApi, usergroup: string): Promise<Set<string>> {
    const cached = this.#memberCache.get(usergroup);
    if (cached && Date.now() - cached.at < this.#ttlMs) return cached.members;
    const members = client.usergroups.users.list({ usergroup }).then(
      (res) => new Set((res.users as string[] | undefined) ?? []),
      (err: unknown) => {
        this.#logger?.warn({ usergroup, err: (err as Error).message }, 'could not resolve a user group');
        this.#memberCache.delete(usergroup);
        return cached ? cached.members : new Set<string>();
      },
    );
    this.#memberCache.set(usergroup, { at: Date.now(), members });
    return members;
  }

  async #groupMembers(client: SlackWebApi): Promise<Set<string>> {
    if (this.#resolved && Date.now() - this.#resolved.at < this.#ttlMs) return this.#resolved.members;
    const members = new Set<string>();
    for (const usergroup of this.#groups) {
      try {
        const res = await client.usergroups.users.list({ usergroup });
        for (const u of (res.users as string[] | undefined) ?? []) members.add(u);
      } catch (err) {
        // Fail closed: an unresolvable group grants nothing (but the last good answer stands).
        this.#logger?.warn({ usergroup, err: (err as Error).message }, 'could not resolve approver group');
        if (this.#resolved) return this.#resolved.members;
      }
    }
    this.#resolved = { at: Date.now(), members };
    return members;
  }
}
