/**
 * Fault injection for the simulator: latency per route, fail the Nth call of a route with a
 * status (and any body, JSON or not; a 429 with its Retry-After), drop the connection, or hang past the client's timeout —
 * either before the request takes effect or after (`commit: true`, the "unknown outcome" case).
 */
import { z } from 'zod';

export const faultRuleSchema = z
  .object({
    /** `METHOD /table` or `METHOD /table/:key` (e.g. `POST /vms`, `GET /vms/:key`), or `*`. */
    route: z.string().min(1),
    /** Added before every matching call is answered. */
    latencyMs: z.number().int().nonnegative().optional(),
    /** 1-based: the Nth matching call after the rule was added. Absent: every matching call. */
    nth: z.number().int().positive().optional(),
    /** With `nth`: how many calls in a row from the Nth on. */
    times: z.number().int().positive().default(1),
    /** Answer with this status instead. */
    status: z.number().int().min(100).max(599).optional(),
    /** With `status` (typically 429): a `Retry-After` header, in seconds. */
    retryAfter: z.number().nonnegative().optional(),
    /** Body for `status`: an object is sent as JSON, a string as-is (non-JSON), null as empty. */
    body: z.union([z.string(), z.record(z.string(), z.unknown()), z.null()]).optional(),
    /** Destroy the connection without answering. */
    drop: z.boolean().optional(),
    /** Never answer (until the server closes). */
    hang: z.boolean().optional(),
    /** Let the request take effect first, then fail/drop/hang: the client cannot know it happened. */
    commit: z.boolean().default(false),
  })
  .refine((r) => [r.status !== undefined, r.drop === true, r.hang === true].filter(Boolean).length <= 1, {
    message: 'a fault rule takes at most one of status, drop, hang',
  });

export type FaultRuleInput = z.input<typeof faultRuleSchema>;
export type FaultRule = z.output<typeof faultRuleSchema>;

export type FaultAction =
  | { kind: 'status'; status: number; body: string | Record<string, unknown> | null | undefined; commit: boolean; retryAfter?: number | undefined }
  | { kind: 'drop'; commit: boolean }
  | { kind: 'hang'; commit: boolean };

export interface FaultDecision {
  latencyMs: number;
  action: FaultAction | undefined;
}

interface ActiveRule {
  rule: FaultRule;
  seen: number;
}

/** VergeOS's session limit as its Go SDK describes it: past `over` requests within `windowMs`, the connection is dropped. */
export interface BurstLimit {
  over: number;
  windowMs: number;
  /** The clock arrivals are counted on (the test's, so it agrees with the client's budget). */
  now: () => number;
}

export class FaultTable {
  #rules: ActiveRule[] = [];
  #burst: BurstLimit | undefined;
  #arrivals: number[] = [];
  /** Requests dropped for passing the burst limit. */
  droppedForBurst = 0;

  /** Drop every request past `over` in any `windowMs` (no 429, as VergeOS does); undefined lifts it. */
  limitBursts(limit: BurstLimit | undefined): void {
    this.#burst = limit;
    this.#arrivals = [];
    this.droppedForBurst = 0;
  }

  add(input: FaultRuleInput | FaultRuleInput[]): void {
    for (const one of Array.isArray(input) ? input : [input]) this.#rules.push({ rule: faultRuleSchema.parse(one), seen: 0 });
  }

  clear(): void {
    this.#rules = [];
    this.limitBursts(undefined);
  }

  /** Whether this arrival passes the burst limit (every arrival counts, dropped ones too). */
  #overBurst(): boolean {
    if (!this.#burst) return false;
    const now = this.#burst.now();
    this.#arrivals = this.#arrivals.filter((t) => t > now - this.#burst!.windowMs);
    this.#arrivals.push(now);
    if (this.#arrivals.length <= this.#burst.over) return false;
    this.droppedForBurst++;
    return true;
  }

  /** Count this call against every matching rule and say what to do with it. */
  decide(route: string): FaultDecision {
    let latencyMs = 0;
    let action: FaultAction | undefined;
    for (const active of this.#rules) {
      const { rule } = active;
      if (rule.route !== '*' && rule.route !== route) continue;
      active.seen++;
      latencyMs += rule.latencyMs ?? 0;
      const hits = rule.nth === undefined || (active.seen >= rule.nth && active.seen < rule.nth + rule.times);
      if (!hits || action) continue;
      if (rule.status !== undefined) action = { kind: 'status', status: rule.status, body: rule.body, commit: rule.commit, retryAfter: rule.retryAfter };
      else if (rule.drop) action = { kind: 'drop', commit: rule.commit };
      else if (rule.hang) action = { kind: 'hang', commit: rule.commit };
    }
    if (this.#overBurst()) action = { kind: 'drop', commit: false };
    return { latencyMs, action };
  }
}
