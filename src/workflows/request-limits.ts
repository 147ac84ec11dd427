/**
 * How much one person may ask: at most `maxPending` requests waiting for a decision, and at most
 * `perHour` filed in any hour. Pure: the caller passes the person's requests and the time. Leads
 * are not limited (the caller skips them).
 */
import type { RequestRecord } from '../store/records.js';
import { isUndecided } from '../store/request-states.js';

const HOUR = 3_600_000;

export interface RequestLimits {
  maxPending: number;
  perHour: number;
}

const clock = (ms: number) => `${new Date(ms).toISOString().slice(11, 16)} UTC`;

/** Why this person may not file another request now (with when they can), or undefined. */
export function requestLimitReached(mine: readonly RequestRecord[], limits: RequestLimits, now = Date.now()): string | undefined {
  // Waiting for pre-flight counts as waiting for a decision: it becomes one without asking.
  const pending = mine.filter((r) => isUndecided(r.state)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  if (pending.length >= limits.maxPending) {
    const ids = pending
      .slice(0, 5)
      .map((r) => r.id)
      .join(', ');
    const firstExpiry = Math.min(...pending.map((r) => Date.parse(r.expiresAt)));
    return `You have ${pending.length} requests waiting for a decision (${ids}${pending.length > 5 ? ', …' : ''}), the most one person may have at once (${limits.maxPending}). Cancel one (\`/vm-create list\`) or wait for a lead; the first expires at ${clock(firstExpiry)} if nobody decides.`;
  }
  const lastHour = mine
    .map((r) => Date.parse(r.createdAt))
    .filter((t) => t > now - HOUR)
    .sort((a, b) => a - b);
  if (lastHour.length >= limits.perHour) {
    const again = lastHour[lastHour.length - limits.perHour]! + HOUR;
    return `You filed ${lastHour.length} requests in the last hour, the most allowed (${limits.perHour} an hour). You can file again at ${clock(again)} (in ${Math.max(1, Math.ceil((again - now) / 60_000))} min).`;
  }
  return undefined;
}
