/**
 * Waiting on VergeOS (a VM stopping, drives importing) without spending the hour's calls: the
 * first wait is the configured interval, each next one twice the last, at most 8× the interval,
 * and never past the deadline, so the last look comes when the wait is up, not after.
 */

/** Time as the poll sees it (tests move it by hand). */
export interface PollClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: PollClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** How far the waits grow, as a multiple of the first. */
const MOST_TIMES_FIRST = 8;

export class PollBackoff {
  readonly #firstMs: number;
  readonly #deadline: number;
  readonly #clock: PollClock;
  #nextMs: number;

  constructor(firstMs: number, deadline: number, clock: PollClock = realClock) {
    this.#firstMs = Math.max(1, firstMs);
    this.#deadline = deadline;
    this.#clock = clock;
    this.#nextMs = this.#firstMs;
  }

  get passed(): boolean {
    return this.#clock.now() >= this.#deadline;
  }

  /**
   * Wait before the next look. Slept in slices of the first interval, so `stopping` (a shutdown)
   * is noticed as soon as with a fixed interval, and ends the wait early.
   */
  async wait(stopping?: () => boolean): Promise<void> {
    let left = Math.max(0, Math.min(this.#nextMs, this.#deadline - this.#clock.now()));
    this.#nextMs = Math.min(this.#nextMs * 2, this.#firstMs * MOST_TIMES_FIRST);
    while (left > 0 && !stopping?.()) {
      const slice = Math.min(left, this.#firstMs);
      await this.#clock.sleep(slice);
      left -= slice;
    }
  }
}
