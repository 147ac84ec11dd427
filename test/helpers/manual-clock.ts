/**
 * A clock for the request budget that moves only when a test says so: `advance(ms)` runs every
 * wait that falls due, in order, letting the promises they free settle in between.
 */
import type { BudgetClock } from '../../src/vergeos/budget.js';

interface Timer {
  at: number;
  resolve: () => void;
}

export class ManualClock implements BudgetClock {
  #now: number;
  #timers: Timer[] = [];

  constructor(start = Date.parse('2026-12-06T09:00:00Z')) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const cancel = () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        resolve();
      };
      const timer: Timer = {
        at: this.#now + ms,
        resolve: () => {
          signal.removeEventListener('abort', cancel);
          resolve();
        },
      };
      this.#timers.push(timer);
      signal.addEventListener('abort', cancel, { once: true });
    });
  }

  /** Waits not yet due. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Move time forward, firing each due wait at its own moment. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.at);
      next.resolve();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}

/** Let every promise already resolved run its continuations (a few macrotask turns for I/O-free chains). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
