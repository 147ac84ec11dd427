/**
 * Bounds how many requests are in flight. A free slot is taken synchronously (no extra promise
 * on the fast path), so the bound costs next to nothing when VergeOS keeps up.
 */
import { CodedError, EXIT } from '../errors.js';

export class Semaphore {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new CodedError('VERGEOS_SETTING_INVALID', 'maxInFlight must be a whole number of at least 1', { exitCode: EXIT.badInput });
    this.#free = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      // Hand the slot straight to the next waiter, or give it back.
      if (next) next();
      else this.#free++;
    }
  }
}
