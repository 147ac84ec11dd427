import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from '../../src/vergeos/retry.js';
import { Semaphore } from '../../src/vergeos/semaphore.js';

describe('backoff', () => {
  const policy = { retries: 5, baseMs: 100, maxMs: 1_000 };
  it('grows exponentially under a cap, with full jitter', () => {
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, policy, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(200);
  });
});

describe('Semaphore', () => {
  it('never runs more than its size at once, and runs everything in order of arrival', async () => {
    const slots = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const task = (i: number) => async () => {
      started.push(i);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return i * 10;
    };
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => slots.run(task(i))));
    expect(results).toEqual([0, 10, 20, 30, 40]);
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it('frees the slot when a task fails', async () => {
    const slots = new Semaphore(1);
    await expect(slots.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await slots.run(async () => 'next')).toBe('next');
  });

  it('refuses a size below 1', () => {
    expect(() => new Semaphore(0)).toThrow('maxInFlight must be a whole number of at least 1');
  });
});

describe('Retry-After', () => {
  it('reads seconds or an HTTP date; absent or unreadable is undefined', () => {
    const now = Date.parse('2026-11-29T03:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter(['2', '9'], now)).toBe(2_000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 03:00:45 GMT', now)).toBe(45_000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 02:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
