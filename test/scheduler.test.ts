/**
 * The scheduler never runs a job over itself: a tick that comes while the job's last run is still
 * going is skipped (logged at debug), and the next tick after it settles runs it again. The runs
 * are held open by promises the test resolves; the timers are vitest's, moved by the test.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../src/log.js';
import { Scheduler } from '../src/scheduler.js';

interface Line {
  level: keyof Logger;
  fields: object;
  message: string;
}

function capturingLogger(lines: Line[]): Logger {
  const at = (level: keyof Logger) => (fields: object, message: string) => void lines.push({ level, fields, message });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A job whose every run stays open until the test settles it. */
function heldJob() {
  const runs: { resolve: () => void; reject: (err: Error) => void }[] = [];
  const run = vi.fn(
    () =>
      new Promise<void>((resolve, reject) => {
        runs.push({ resolve, reject });
      }),
  );
  return { run, runs };
}

describe('Scheduler', () => {
  let lines: Line[];
  let scheduler: Scheduler;
  beforeEach(() => {
    vi.useFakeTimers();
    lines = [];
    scheduler = new Scheduler(() => Promise.resolve(true), capturingLogger(lines));
  });
  afterEach(() => {
    scheduler.stop();
    vi.useRealTimers();
  });

  it('skips the ticks that come while the last run is still going, then runs again once it settles', async () => {
    const job = heldJob();
    scheduler.every({ name: 'address sweep', everyMs: 10, led: true, run: job.run });

    await vi.advanceTimersByTimeAsync(100); // ten ticks while the first run is held open
    expect(job.run).toHaveBeenCalledTimes(1);
    const skipped = lines.filter((l) => l.message === 'address sweep is still running from an earlier tick; this tick is skipped');
    expect(skipped).toHaveLength(9);
    expect(skipped.every((l) => l.level === 'debug')).toBe(true);
    expect(skipped[0]?.fields).toEqual({ job: 'address sweep' });

    job.runs[0]!.resolve();
    await vi.advanceTimersByTimeAsync(10);
    expect(job.run).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(30);
    expect(job.run).toHaveBeenCalledTimes(2);
  });

  it('a run that fails frees the job for the next tick, and the failure is logged as the job says', async () => {
    const job = heldJob();
    scheduler.every({ name: 'lease sweep', everyMs: 10, led: true, run: job.run, failure: 'warn' });
    await vi.advanceTimersByTimeAsync(25);
    expect(job.run).toHaveBeenCalledTimes(1);

    job.runs[0]!.reject(new Error('VergeOS is rate-limiting the bot'));
    await vi.advanceTimersByTimeAsync(10);
    expect(job.run).toHaveBeenCalledTimes(2);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([
      { level: 'warn', fields: { job: 'lease sweep', err: 'VergeOS is rate-limiting the bot' }, message: 'lease sweep failed' },
    ]);
  });

  it('guards each job on its own: one held open does not hold back another', async () => {
    const slow = heldJob();
    const quick = vi.fn(() => Promise.resolve());
    scheduler.every({ name: 'gone-VM sweep', everyMs: 10, led: true, run: slow.run });
    scheduler.every({ name: 'requests sweep', everyMs: 10, led: true, run: quick });
    await vi.advanceTimersByTimeAsync(50);
    expect(slow.run).toHaveBeenCalledTimes(1);
    expect(quick).toHaveBeenCalledTimes(5);
  });

  it('a tick waiting on the leader check counts as running, and a process that does not lead never runs a led job', async () => {
    let answer: ((leads: boolean) => void) | undefined;
    const leads = vi.fn(() => new Promise<boolean>((resolve) => (answer = resolve)));
    const follower = new Scheduler(leads, capturingLogger(lines));
    const run = vi.fn(() => Promise.resolve());
    follower.every({ name: 'archiving', everyMs: 10, led: true, run });
    await vi.advanceTimersByTimeAsync(40);
    expect(leads).toHaveBeenCalledTimes(1);
    answer!(false);
    await vi.advanceTimersByTimeAsync(10);
    expect(leads).toHaveBeenCalledTimes(2);
    expect(run).not.toHaveBeenCalled();
    follower.stop();
  });

  it('nothing starts once stopping', async () => {
    const run = vi.fn(() => Promise.resolve());
    scheduler.every({ name: 'taking over stopped runs', everyMs: 10, led: false, run });
    await vi.advanceTimersByTimeAsync(10);
    scheduler.stop();
    await vi.advanceTimersByTimeAsync(50);
    expect(run).toHaveBeenCalledTimes(1);
    expect(scheduler.stopping).toBe(true);
  });
});
