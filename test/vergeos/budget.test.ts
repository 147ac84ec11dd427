import { describe, expect, it } from 'vitest';
import { BudgetWaitAbandoned, RequestBudget } from '../../src/vergeos/budget.js';
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
  it('sends a burst at once, then one call a second at 3645/h with bursts of 45 (refilled at the hour less the burst)', async () => {
    const clock = new ManualClock();
    const budget = new RequestBudget({ perHour: 3645, burst: 45, clock });
    expect(budget.refillPerHour).toBe(3600);
    const served: string[] = [];
    const takes = takeAll(budget, new Array<Purpose>(47).fill('provision'), served);
    await settle();
    expect(served).toHaveLength(45);
    expect(budget.left).toBe(0);
    await clock.advance(999);
    expect(served).toHaveLength(45);
    await clock.advance(1);
    expect(served).toHaveLength(46);
    await clock.advance(1_000);
    expect(served).toHaveLength(47);
    const waits = await Promise.all(takes);
    expect(waits.slice(0, 45).every((w) => w === 0)).toBe(true);
    expect(waits.slice(45)).toEqual([1_000, 2_000]);
  });

  it('never sends more than the hourly limit in any hour, however many callers flood it (1000/h, bursts of 45)', async () => {
    const clock = new ManualClock();
    const budget = new RequestBudget({ perHour: 1000, burst: 45, clock });
    const start = clock.now();
    const sentAt: number[] = [];
    const purposes: Purpose[] = ['provision', 'sweep', 'user', 'refresh', 'readiness', 'change'];
    for (let i = 0; i < 2_200; i++) void budget.take(purposes[i % purposes.length]!).then(() => sentAt.push(clock.now() - start));
    for (let t = 0; t < 2 * 3_600_000; t += 10_000) await clock.advance(10_000);
    expect(sentAt.length).toBeGreaterThan(1_900);
    for (const from of [0, ...sentAt.filter((_, i) => i % 50 === 0)])
      expect(sentAt.filter((t) => t >= from && t < from + 3_600_000).length).toBeLessThanOrEqual(1000);
    // No burst past 45 in any 10 s either (VergeOS drops a session past ~50).
    for (const from of sentAt) expect(sentAt.filter((t) => t >= from && t < from + 10_000).length).toBeLessThanOrEqual(48);
  });

  it('serves people waiting for an answer, then work under way, then background work, which leaves the reserve alone', async () => {
    const clock = new ManualClock();
    const budget = new RequestBudget({ perHour: 3_610, burst: 10, reserve: 2, clock });
    const served: string[] = [];
    // Background may take only while more than the reserve is left: 8 of the 10.
    void takeAll(budget, new Array<Purpose>(9).fill('sweep'), served);
    await settle();
    expect(served).toHaveLength(8);
    expect(budget.left).toBe(2);
    // Work under way and a person arrive after the ninth sweep; the person goes first, then the lease step.
    void budget.take('lease').then(() => served.push('lease'));
    void budget.take('provision').then(() => served.push('provision'));
    void budget.take('user').then(() => served.push('user'));
    await settle();
    expect(served.slice(8)).toEqual(['user', 'lease']);
    await clock.advance(1_000);
    expect(served.slice(8)).toEqual(['user', 'lease', 'provision']);
    // The ninth sweep waits until the reserve is whole again plus one: 3 more tokens at one a second.
    await clock.advance(2_000);
    expect(served).toHaveLength(11);
    await clock.advance(1_000);
    expect(served.at(-1)).toBe('sweep#8');
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
    expect(served).toEqual(['user#1', 'provision#0', 'change#3', 'sweep#2']);
    expect(await Promise.all(takes)).toEqual([5_000, 5_000, 5_000, 5_000]);
    expect(budget.paused).toBeUndefined();
  });

  it('a Retry-After longer than maxPauseMs pauses everyone for maxPauseMs only', () => {
    const clock = new ManualClock();
    const budget = new RequestBudget({ perHour: 1000, clock });
    budget.rateLimited(86_400_000);
    expect(budget.paused?.until).toBe(clock.now() + 60_000);
  });

  it('backs everyone off longer after each incident (503, drop) until an answer comes; failures during one pause are one incident', async () => {
    const clock = new ManualClock();
    const budget = new RequestBudget({ perHour: 1_000_000, burst: 45, clock });
    budget.troubled('dropped');
    expect(budget.paused).toEqual({ until: clock.now() + 500, reason: 'dropped' });
    // Seven more calls in flight fail the same way: still one incident.
    for (let i = 0; i < 7; i++) budget.troubled('dropped');
    expect(budget.paused?.until).toBe(clock.now() + 500);
    // An answer to a call sent before the pause ends nothing.
    budget.answered();
    await clock.advance(500);
    budget.troubled('unavailable');
    expect(budget.paused).toEqual({ until: clock.now() + 1_000, reason: 'unavailable' });
    await clock.advance(1_000);
    budget.troubled('dropped');
    expect(budget.paused?.until).toBe(clock.now() + 2_000);
    await clock.advance(2_000);
    budget.answered();
    budget.troubled('dropped');
    expect(budget.paused?.until).toBe(clock.now() + 500);
  });

  it('predicts how long work under way will take with the tokens left, those refilled during a pause, and those already waiting', async () => {
    const clock = new ManualClock();
    const budget = new RequestBudget({ perHour: 3_645, burst: 45, clock });
    expect(budget.predictWaitMs(45)).toBe(0);
    expect(budget.predictWaitMs(100)).toBe(55_000);
    void takeAll(budget, new Array<Purpose>(50).fill('provision'), []);
    void takeAll(budget, new Array<Purpose>(20).fill('sweep'), []);
    await settle();
    // 45 went at once, 5 wait (background waiting behind does not delay work under way): 10 more wait behind them.
    expect(budget.waiting).toBe(25);
    expect(budget.predictWaitMs(10)).toBe(15_000);
    budget.rateLimited(30_000);
    expect(budget.predictWaitMs(1)).toBe(30_000);
    expect(budget.predictWaitMs(40)).toBe(45_000);
  });

  it('a caller whose answer is abandoned leaves the queue unsent, spending no token', async () => {
    const clock = new ManualClock();
    const budget = new RequestBudget({ perHour: 3_645, burst: 45, clock });
    void takeAll(budget, new Array<Purpose>(45).fill('provision'), []);
    await settle();
    const abandoned = new AbortController();
    const late = budget.take('preflight', abandoned.signal);
    const next = budget.take('provision');
    expect(budget.waiting).toBe(2);
    abandoned.abort();
    await expect(late).rejects.toThrow(BudgetWaitAbandoned);
    expect(budget.waiting).toBe(1);
    // The one token refilled goes to the caller still waiting.
    await clock.advance(1_000);
    expect(await next).toBe(1_000);
    await expect(budget.take('user', abandoned.signal)).rejects.toThrow('nothing was sent');
  });

  it('a whole burst is never more than half the hour: 10/h sends 5 at once', async () => {
    const budget = new RequestBudget({ perHour: 10, burst: 45, clock: new ManualClock() });
    expect(budget.burst).toBe(5);
    expect(budget.refillPerHour).toBe(5);
  });
});
