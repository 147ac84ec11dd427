/**
 * Who may request VMs: full members of the workspace the app is installed in — not guests, not
 * people from another organization in a Slack Connect channel — and, when VM_REQUESTERS is set,
 * only the users and user groups it names (leads always may). Slack is asked once per user
 * (`users.info`, cached briefly) and once for the installation (`auth.test`).
 */
import type { Logger } from '../log.js';
import { text } from '../text.js';
import { escapeText } from './escape.js';
import { SlackApiError, type SlackWebApi } from './web-api.js';

export type RefusalReason = 'guest' | 'external' | 'not_listed' | 'inactive' | 'lookup_failed';

export type GateVerdict = { ok: true; lead: boolean } | { ok: false; reason: RefusalReason; message: string };

interface Installation {
  team: string;
  teamName: string;
  enterprise: string | undefined;
}

interface UserInfo {
  team: string | undefined;
  enterprise: string | undefined;
  guest: boolean;
  inactive: boolean;
}

export interface RequesterGateDeps {
  slack: SlackWebApi;
  /** VM_REQUESTERS: user ids and user-group ids; empty means every full member. */
  requesters: readonly string[];
  /** Members of a user group (the bot's shared, cached resolver). */
  members: (usergroup: string) => Promise<Set<string>>;
  isLead: (user: string) => Promise<boolean>;
  /** How long a user's account facts are trusted (default 5 min). */
  ttlMs?: number;
  logger?: Logger;
}

export class RequesterGate {
  readonly #deps: RequesterGateDeps;
  readonly #users: Set<string>;
  readonly #groups: string[];
  readonly #ttlMs: number;
  #installation: Promise<Installation> | undefined;
  readonly #info = new Map<string, { at: number; info: Promise<UserInfo> }>();

  constructor(deps: RequesterGateDeps) {
    this.#deps = deps;
    this.#users = new Set(deps.requesters.filter((id) => !id.startsWith('S')));
    this.#groups = deps.requesters.filter((id) => id.startsWith('S'));
    this.#ttlMs = deps.ttlMs ?? 5 * 60_000;
  }

  /**
   * May this user ask for VMs? `team` and `enterprise` are what the payload says of the user
   * (interactive payloads carry the user's home team); Slack's account facts decide the rest.
   */
  async check(user: string, team?: string, enterprise?: string): Promise<GateVerdict> {
    let installation: Installation;
    let info: UserInfo;
    try {
      installation = await this.#installed();
      info = await this.#userInfo(user);
    } catch (err) {
      if (err instanceof SlackApiError && err.error === 'user_not_found')
        return refuse('inactive', "Slack doesn't list this account as an active member, so it can't request VMs.");
      this.#deps.logger?.warn({ user, err: (err as Error).message }, 'could not check a requester with Slack');
      return refuse('lookup_failed', "I couldn't check your account with Slack just now, so I can't take this. Try again in a minute.");
    }
    const sameOrg = (t: string | undefined, e: string | undefined) =>
      t === undefined || t === installation.team || (installation.enterprise !== undefined && e === installation.enterprise);
    if (!sameOrg(team, enterprise) || !sameOrg(info.team, info.enterprise)) {
      return refuse(
        'external',
        `People from other organizations can't request VMs here: this bot serves members of ${escapeText(installation.teamName)} only.`,
      );
    }
    if (info.inactive) return refuse('inactive', "Slack doesn't list this account as an active member, so it can't request VMs.");
    if (info.guest) return refuse('guest', "Guests can't request VMs in this workspace. Ask a full member of your team to request one for you.");
    const lead = await this.#deps.isLead(user);
    if (lead || !this.#deps.requesters.length || this.#users.has(user)) return { ok: true, lead };
    for (const members of await Promise.all(this.#groups.map((g) => this.#deps.members(g)))) if (members.has(user)) return { ok: true, lead };
    return refuse('not_listed', "You're not on the list of people who may request VMs (VM_REQUESTERS). Ask a lead to add you, or a group you are in.");
  }

  #installed(): Promise<Installation> {
    this.#installation ??= this.#deps.slack.call('auth.test', {}).then(
      (r) => ({ team: text(r.team_id), teamName: text(r.team) || 'this workspace', enterprise: text(r.enterprise_id) || undefined }),
      (err: unknown) => {
        this.#installation = undefined; // asked again next time
        throw err;
      },
    );
    return this.#installation;
  }

  #userInfo(user: string): Promise<UserInfo> {
    const cached = this.#info.get(user);
    if (cached && Date.now() - cached.at < this.#ttlMs) return cached.info;
    const info = this.#deps.slack.call('users.info', { user }).then(
      (r) => {
        const u = (r.user ?? {}) as Record<string, unknown>;
        const enterprise = (u.enterprise_user as { enterprise_id?: unknown } | undefined)?.enterprise_id;
        return {
          team: text(u.team_id) || undefined,
          enterprise: text(enterprise) || undefined,
          guest: u.is_restricted === true || u.is_ultra_restricted === true,
          inactive: u.deleted === true || u.is_bot === true,
        };
      },
      (err: unknown) => {
        this.#info.delete(user);
        throw err;
      },
    );
    this.#info.set(user, { at: Date.now(), info });
    return info;
  }
}

function refuse(reason: RefusalReason, message: string): GateVerdict {
  return { ok: false, reason, message };
}
