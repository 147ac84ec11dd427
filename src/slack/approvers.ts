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
  /** Members per Slack user group (leads' groups and the policy's), each cached for the TTL. */
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
    for (const group of await Promise.all(this.#groups.map((g) => this.members(client, g)))) if (group.has(user)) return true;
    return false;
  }

  /**
   * Members of one Slack user group for a policy decision: cached like `members`, but a group Slack
   * cannot resolve (and that was never resolved) is an error, not an empty group — a rule that
   * excludes its members must not fall through to a weaker one.
   */
  async membersForDecision(client: SlackWebApi, usergroup: string): Promise<Set<string>> {
    const cached = this.#memberCache.get(usergroup);
    if (cached && Date.now() - cached.at < this.#ttlMs) return cached.members;
    try {
      const res = await client.usergroups.users.list({ usergroup });
      const members = new Set((res.users as string[] | undefined) ?? []);
      this.#memberCache.set(usergroup, { at: Date.now(), members: Promise.resolve(members) });
      return members;
    } catch (err) {
      if (cached) return cached.members; // what Slack said a few minutes ago
      throw new Error(`Slack could not say who is in user group ${usergroup} (${(err as Error).message})`);
    }
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
}
