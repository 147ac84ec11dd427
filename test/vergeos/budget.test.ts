import { describe, expect, it } from 'vitest';
import { RequestBudget } from '../../src/vergeos/budget.js';
import type { Purpose } from '../../src/vergeos/purpose.js';
import { ManualClock, settle } from '../helpers/manual-clock.js';

/** Start `n` takes and record the order in which they are served. */
function takeAll(budget: RequestBudget, purposes: Purpose[], served: string[]): Array<Promise<number>> {
  return purposes.map((purpose, i) =>
    budget.take(purpose).then((waited) => {
      served.push(`${purpose}#${i}`);
      return waited;
    }),
  );
}

describe('RequestBudget', () => {
  it('sends a burst at once, then paces at the hourly rate (1000/h: one call every 3.6 s)', async () => {
    const clock = new ManualClock();
    const budget = new RequestBudget({ perHour: 1000, burst: 45, clock });
    const served: string[] = [];
    const takes = takeAll(budget, new Array<Purpose>(47).fill('provision'), served);
    await settle();
    expect(served).toHaveLength(45);
    expect(budget.left).toBe(0);
    await clock.advance(3_599);
    expect(served).toHaveLength(45);
    await clock.advance(1);
    expect(served).toHaveLength(46);
    await clock.advance(3_600);
    expect(served).toHaveLength(47);
    const waits = await Promise.all(takes);
    expect(waits.slice(0, 45).every((w) => w === 0)).toBe(true);
    expect(waits.slice(45)).toEqual([3_600, 7_200]);
  });

  it('serves people before background work, and leaves background work out of the last reserve', async () => {
    const clock = new ManualClock();
    const budget = new RequestBudget({ perHour: 3_600, burst: 10, reserve: 2, clock });
    const served: string[] = [];
    // Background may take only while more than the reserve is left: 8 of the 10.
    void takeAll(budget, new Array<Purpose>(9).fill('sweep'), served);
    await settle();
    expect(served).toHaveLength(8);
    expect(budget.left).toBe(2);
    // A person comes after the background caller still waiting, and is served first, from the reserve.
    void budget.take('user').then(() => served.push('user'));
    await settle();
    expect(served.at(-1)).toBe('user');
    expect(served.filter((s) => s.startsWith('sweep'))).toHaveLength(8);
    // The ninth sweep waits until the reserve is whole again plus one: 2 more tokens at one a second.
    await clock.advance(1_000);
    expect(served.filter((s) => s.startsWith('sweep'))).toHaveLength(8);
    await clock.advance(1_000);
    expect(served.filter((s) => s.startsWith('sweep'))).toHaveLength(9);
  });

  it('a 429 with Retry-After pauses every caller for that long, then all proceed in order', async () => {
    const clock = new ManualClock();
    const budget = new RequestBudget({ perHour: 1_000_000, burst: 45, clock });
    budget.rateLimited(5_000);
    expect(budget.paused).toEqual({ until: clock.now() + 5_000, reason: 'rate_limited' });
    const served: string[] = [];
    const takes = takeAll(budget, ['provision', 'user', 'sweep', 'change'], served);
    await clock.advance(4_999);
    expect(served).toEqual([]);
    await clock.advance(1);
    expect(served).toEqual(['provision#0', 'user#1', 'change#3', 'sweep#2']);
    expect(await Promise.all(takes)).toEqual([5_000, 5_000, 5_000, 5_000]);
    expect(budget.paused).toBeUndefined();
  });

  it('backs everyone off longer after each 503 or dropped connection, until an answer comes', async () => {
    const clock = new ManualClock();
    const budget = new RequestBudget({ perHour: 1_000_000, burst: 45, clock });
    budget.troubled('dropped');
    expect(budget.paused?.until).toBe(clock.now() + 500);
    budget.troubled('unavailable');
    expect(budget.paused).toEqual({ until: clock.now() + 1_000, reason: 'unavailable' });
    budget.troubled('dropped');
    expect(budget.paused?.until).toBe(clock.now() + 2_000);
    budget.answered();
    await clock.advance(2_000);
    budget.troubled('dropped');
    expect(budget.paused?.until).toBe(clock.now() + 500);
  });

  it('predicts how long calls for people will take with the tokens left and those already waiting', async () => {
    const clock = new ManualClock();
    const budget = new RequestBudget({ perHour: 1000, burst: 45, clock });
    expect(budget.predictWaitMs(45)).toBe(0);
    expect(budget.predictWaitMs(100)).toBe(55 * 3_600);
    void takeAll(budget, new Array<Purpose>(50).fill('provision'), []);
    await settle();
    // 45 went at once, 5 wait: 10 more wait behind them.
    expect(budget.waiting).toBe(5);
    expect(budget.predictWaitMs(10)).toBe(15 * 3_600);
    budget.rateLimited(30_000);
    expect(budget.predictWaitMs(1)).toBe(30_000 + 6 * 3_600);
  });

  it('never sends more than the burst in any window, however many callers race', async () => {
    const clock = new ManualClock();
    const budget = new RequestBudget({ perHour: 36_000, burst: 45, clock });
    const sentAt: number[] = [];
    const purposes: Purpose[] = ['provision', 'sweep', 'user', 'refresh', 'readiness', 'change'];
    const all = Array.from({ length: 300 }, (_, i) => budget.take(purposes[i % purposes.length]!).then(() => sentAt.push(clock.now())));
    for (let t = 0; t < 40_000 && sentAt.length < 300; t += 50) await clock.advance(50);
    await Promise.all(all);
    expect(sentAt).toHaveLength(300);
    // At 10 a second with a burst of 45: no 1-second window holds more than 45 + 10.
    const start = sentAt[0]!;
    for (const t of sentAt) expect(sentAt.filter((u) => u >= t && u < t + 1_000).length).toBeLessThanOrEqual(55);
    expect(sentAt.at(-1)! - start).toBeGreaterThanOrEqual(25_500);
  });
});
