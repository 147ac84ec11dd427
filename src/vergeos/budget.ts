/**
 * VergeOS's request budget: "a maximum of 1000 requests per hour per API key" (its API Guide), and a
 * node drops a session that sends more than ~50 in a burst (its Go SDK). A token bucket per API key
 * holds the burst under that, and refills at the hour's limit less the burst, so no hour ever holds
 * more than the limit. People waiting for an answer are served first, then work under way
 * (provisioning, changes, lease steps), then background work (sweeps, refreshes, readiness), which
 * never takes the last few tokens. When VergeOS pushes back — a 429 with its `Retry-After`, a
 * 502/503/504, a dropped connection — every caller pauses, not just the one that was told.
 */
import { setMaxListeners } from 'node:events';
import { provideBudgetReadings, vergeosBudgetPauses } from '../ops/metrics.js';
import { BACKGROUND_PRIORITY, priorityOf, type Priority, type Purpose } from './purpose.js';

/** Time for the budget: real by default; tests and the bench move or compress it. */
export interface BudgetClock {
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
}

/** Monotonic: a wall clock stepped back (NTP) must not freeze the bucket. */
export const realClock: BudgetClock = {
  now: () => performance.now(),
  wait: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
};

export interface BudgetOptions {
  /** Calls per hour (VergeOS documents 1000 per API key). */
  perHour: number;
  /** Calls sent back to back before the rate applies (default 45: VergeOS drops a session past ~50). */
  burst?: number;
  /** Tokens background work leaves for people (default a fifth of the burst). */
  reserve?: number;
  /** The longest every caller is paused for one 429's `Retry-After` (default 60 s). */
  maxPauseMs?: number;
  clock?: BudgetClock;
}

/** A wait nothing cuts short (any number of waits share it). */
export const NEVER = new AbortController().signal;
setMaxListeners(0, NEVER);

/** Why every caller is paused, for the log and /readyz-style reports. */
export type PauseReason = 'rate_limited' | 'unavailable' | 'dropped';

interface Waiter {
  purpose: Purpose;
  since: number;
  resolve: (waitedMs: number) => void;
}

/** Thrown by `take` when the caller's answer was abandoned while it waited: nothing was sent. */
export class BudgetWaitAbandoned extends Error {
  override readonly name = 'BudgetWaitAbandoned';
  constructor(readonly waitedMs: number) {
    super(`gave up after waiting ${Math.round(waitedMs)} ms for the VergeOS request budget; nothing was sent`);
  }
}

/** Shared back-off after 503s and drops: 0.5 s doubling to 30 s; a success ends the streak. */
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export class RequestBudget {
  readonly perHour: number;
  readonly burst: number;
  readonly reserve: number;
  readonly maxPauseMs: number;
  /** The clock it runs on (the transport's retry waits use it too). */
  readonly clock: BudgetClock;
  readonly #perMs: number;
  #tokens: number;
  #filledAt: number;
  #pausedUntil = 0;
  #pauseReason: PauseReason | undefined;
  #troubleStreak = 0;
  /** Waiters by priority (0 first), each oldest first. */
  readonly #queues: [Waiter[], Waiter[], Waiter[]] = [[], [], []];
  #pumping = false;
  #wake = new AbortController();

  constructor(options: BudgetOptions) {
    if (!(options.perHour > 0)) throw new RangeError('perHour must be above 0');
    this.perHour = options.perHour;
    // A burst is part of the hour: at most half of it, so the rate left to refill stays the larger part.
    this.burst = Math.max(1, Math.min(Math.floor(options.burst ?? 45), Math.floor(options.perHour / 2)));
    this.reserve = Math.min(this.burst - 1, Math.max(0, Math.floor(options.reserve ?? this.burst / 5)));
    this.maxPauseMs = options.maxPauseMs ?? 60_000;
    this.clock = options.clock ?? realClock;
    // Refilled at the hour's limit less the burst: a full burst plus an hour's refill stays within the limit.
    this.#perMs = (options.perHour - this.burst) / 3_600_000;
    this.#tokens = this.burst;
    this.#filledAt = this.clock.now();
  }

  /** Calls that could be sent now without waiting. */
  get left(): number {
    this.#refill();
    return Math.floor(this.#tokens);
  }

  /** Callers waiting for a token now. */
  get waiting(): number {
    return this.#queues.reduce((n, q) => n + q.length, 0);
  }

  /** Calls sent per hour once the burst is spent (the hour's limit less the burst). */
  get refillPerHour(): number {
    return this.#perMs * 3_600_000;
  }

  /** Until when (epoch ms) every caller is paused, and why; undefined when not paused. */
  get paused(): { until: number; reason: PauseReason } | undefined {
    return this.#pausedUntil > this.clock.now() && this.#pauseReason ? { until: this.#pausedUntil, reason: this.#pauseReason } : undefined;
  }

  /**
   * How long `calls` more calls of work under way (a batch's provisioning) would take to be sent
   * from now, with the tokens there are (and those refilled during any pause) and the callers of
   * that priority or higher already waiting: the figure pre-flight shows the lead.
   */
  predictWaitMs(calls: number): number {
    this.#refill();
    const ahead = this.#queues[0].length + this.#queues[1].length;
    const pause = Math.max(0, this.#pausedUntil - this.clock.now());
    const short = calls + ahead - this.#tokens;
    return Math.max(pause, short <= 0 ? 0 : short / this.#perMs);
  }

  /**
   * Wait for a token; resolves with how long it waited (ms). When `abandoned` aborts first, the
   * caller leaves the queue and `take` rejects with BudgetWaitAbandoned (no token spent).
   */
  take(purpose: Purpose, abandoned?: AbortSignal): Promise<number> {
    this.#refill();
    const priority = priorityOf(purpose);
    const now = this.clock.now();
    if (abandoned?.aborted) return Promise.reject(new BudgetWaitAbandoned(0));
    if (!this.#pumping && this.#pausedUntil <= now && this.#tokens >= this.#needed(priority)) {
      this.#tokens -= 1;
      return Promise.resolve(0);
    }
    return new Promise<number>((resolve, reject) => {
      const queue = this.#queues[priority];
      const leave = () => {
        const at = queue.indexOf(waiter);
        if (at < 0) return;
        queue.splice(at, 1);
        reject(new BudgetWaitAbandoned(this.clock.now() - now));
      };
      const waiter: Waiter = {
        purpose,
        since: now,
        resolve: (waited) => {
          abandoned?.removeEventListener('abort', leave);
          resolve(waited);
        },
      };
      queue.push(waiter);
      abandoned?.addEventListener('abort', leave, { once: true });
      if (this.#pumping) this.#interrupt();
      else void this.#pump();
    });
  }

  /**
   * Resolves once no pause is on: a call that got its token before a pause began (and then waited
   * for a connection slot) checks again just before it is sent.
   */
  async whenUnpaused(): Promise<void> {
    for (let left = this.#pausedUntil - this.clock.now(); left > 0; left = this.#pausedUntil - this.clock.now()) await this.clock.wait(Math.ceil(left), NEVER);
  }

  /** VergeOS answered 429: pause everyone for what it asked (at most maxPauseMs) or a back-off; then all proceed. */
  rateLimited(retryAfterMs: number | undefined): void {
    this.#pause(Math.min(this.maxPauseMs, retryAfterMs ?? this.#nextBackoff()), 'rate_limited');
  }

  /**
   * A 502/503/504 or a dropped connection: everyone backs off, longer each time until VergeOS
   * answers. Calls that fail together during one pause (sent before it) count as one incident.
   */
  troubled(reason: 'unavailable' | 'dropped'): void {
    if (this.#pausedUntil > this.clock.now()) return;
    this.#pause(this.#nextBackoff(), reason);
  }

  /** An answer came back after the last pause: the back-off streak ends. */
  answered(): void {
    if (this.#pausedUntil <= this.clock.now()) this.#troubleStreak = 0;
  }

  #nextBackoff(): number {
    this.#troubleStreak++;
    return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (this.#troubleStreak - 1));
  }

  #pause(ms: number, reason: PauseReason): void {
    vergeosBudgetPauses.inc({ reason });
    const until = this.clock.now() + ms;
    if (until > this.#pausedUntil) {
      this.#pausedUntil = until;
      this.#pauseReason = reason;
    }
    this.#interrupt();
  }

  #needed(priority: Priority): number {
    return priority === BACKGROUND_PRIORITY ? 1 + this.reserve : 1;
  }

  #refill(): void {
    const now = this.clock.now();
    if (now > this.#filledAt) this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#filledAt) * this.#perMs);
    this.#filledAt = Math.max(this.#filledAt, now);
  }

  #interrupt(): void {
    this.#wake.abort();
  }

  /** One loop hands out tokens in order: by priority, oldest first within one. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      for (;;) {
        const priority = this.#queues.findIndex((q) => q.length > 0);
        if (priority < 0) return;
        const queue = this.#queues[priority]!;
        const next = queue[0]!;
        this.#refill();
        const now = this.clock.now();
        let waitMs = this.#pausedUntil - now;
        if (waitMs <= 0) {
          const short = this.#needed(priority as Priority) - this.#tokens;
          if (short <= 0) {
            this.#tokens -= 1;
            queue.shift();
            next.resolve(now - next.since);
            continue;
          }
          waitMs = short / this.#perMs;
        }
        if (this.#wake.signal.aborted) this.#wake = new AbortController();
        await this.clock.wait(Math.max(1, Math.ceil(waitMs)), this.#wake.signal);
      }
    } finally {
      this.#pumping = false;
    }
  }
}

/** One budget per API key in this process: every client made with the same key shares it. */
const budgets = new Map<string, RequestBudget>();

/** The budget for a key (`keyId` names it without holding the secret); the first caller's options make it. */
export function sharedBudget(keyId: string, options: BudgetOptions): RequestBudget {
  let budget = budgets.get(keyId);
  if (!budget) {
    budget = new RequestBudget(options);
    budgets.set(keyId, budget);
  }
  return budget;
}

provideBudgetReadings(() => [...budgets.values()].map((b) => ({ left: b.left, waiting: b.waiting, perHour: b.perHour })));
