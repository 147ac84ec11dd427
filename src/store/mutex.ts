/** One holder at a time within this process, in arrival order (a promise chain). */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work, work);
    // The next holder waits for this one to settle, whatever its outcome.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
