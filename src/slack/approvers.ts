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
