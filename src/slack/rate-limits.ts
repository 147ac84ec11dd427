/**
 * Slack's published Web API rate limits for the methods this bot calls ("Rate limits" on
 * docs.slack.dev: limits are per method, per app, per workspace; chat.postMessage is about one
 * message per second per channel with short bursts allowed; Tier 2 = 20+/min, Tier 3 = 50+/min
 * with sporadic bursts, Tier 4 = 100+/min with generous bursts). Slack publishes no burst sizes;
 * the ones here are the smallest reading of those words. The Slack stand-in enforces this table;
 * the bot paces itself a little under it (see `pacingFor`).
 */
export type LimitScope = 'channel' | 'workspace';

export interface RateLimit {
  /** `channel`: one bucket per channel (chat.postMessage); `workspace`: one per method. */
  scope: LimitScope;
  perMinute: number;
  burst: number;
}

const TIER_2: RateLimit = { scope: 'workspace', perMinute: 20, burst: 3 };
const TIER_3: RateLimit = { scope: 'workspace', perMinute: 50, burst: 10 };
const TIER_4: RateLimit = { scope: 'workspace', perMinute: 100, burst: 20 };

export const SLACK_RATE_LIMITS: Readonly<Record<string, RateLimit>> = {
  'chat.postMessage': { scope: 'channel', perMinute: 60, burst: 3 },
  'chat.update': TIER_3,
  'chat.postEphemeral': TIER_4,
  'chat.getPermalink': TIER_4,
  'conversations.open': TIER_3,
  'views.open': TIER_4,
  'views.push': TIER_4,
  'views.update': TIER_4,
  'views.publish': TIER_4,
  'users.info': TIER_4,
  'usergroups.users.list': TIER_2,
  'auth.test': TIER_4,
};

/** The bucket a call counts against: the method, and for per-channel methods the channel. */
export function bucketKey(method: string, channel: string | undefined): string | undefined {
  const limit = SLACK_RATE_LIMITS[method];
  if (!limit) return undefined;
  return limit.scope === 'channel' ? `${method}:${channel ?? ''}` : method;
}

/**
 * How the bot paces a method: 95% of Slack's rate and one call less of burst, so clocks that
 * differ by a few milliseconds between the bot and Slack never tip a call over the limit.
 * `factor` speeds everything up for a stand-in that allows it (tests, the demo); 1 for Slack.
 */
export function pacingFor(method: string, factor = 1): { perSecond: number; burst: number } | undefined {
  const limit = SLACK_RATE_LIMITS[method];
  if (!limit) return undefined;
  return { perSecond: (limit.perMinute / 60) * 0.95 * factor, burst: Math.max(1, limit.burst - 1) };
}

/**
 * A token bucket: `burst` calls at once, then `perSecond`. Also blocked outright after a 429
 * until its Retry-After has passed.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;
  #blockedUntil = 0;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#tokens = burst;
    this.#at = now();
  }

  #refill(): number {
    const now = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
    this.#at = now;
    return now;
  }

  /** Milliseconds until a call may go (0: now). */
  waitMs(): number {
    const now = this.#refill();
    const blocked = Math.max(0, this.#blockedUntil - now);
    const short = this.#tokens >= 1 ? 0 : ((1 - this.#tokens) / this.perSecond) * 1000;
    return Math.ceil(Math.max(blocked, short));
  }

  /** Take a call if one may go now; false otherwise. */
  tryTake(): boolean {
    if (this.waitMs() > 0) return false;
    this.#tokens -= 1;
    return true;
  }

  block(ms: number): void {
    this.#blockedUntil = Math.max(this.#blockedUntil, this.now() + ms);
  }
}
