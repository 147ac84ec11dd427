import { describe, expect, it } from 'vitest';
import type { RunRecord, RunState } from '../../src/store/records.js';
import { SingleProcess } from '../../src/store/single-process.js';

/** Runs by state, the one index SingleProcess reads (orphans). */
function runsInStates(runs: Array<{ id: string; state: RunState }>) {
  return {
    runsBy: (_index: 'state', key: string, filter?: (r: Readonly<RunRecord>) => boolean) =>
      runs.filter((r) => r.state === key && (!filter || filter(r as RunRecord))) as RunRecord[],
  };
}

describe('SingleProcess (coordination with the store to itself)', () => {
  it('a run is held by one owner until that owner releases it; the same owner may claim it again', async () => {
    const one = new SingleProcess(runsInStates([]), true);
    expect(await one.claimRun('run-a', 'exec-1')).toBe(true);
    expect(await one.claimRun('run-a', 'exec-2')).toBe(false);
    expect(await one.claimRun('run-a', 'exec-1')).toBe(true);
    await one.releaseRun('run-a', 'exec-2'); // not the holder: nothing changes
    expect(await one.claimRun('run-a', 'exec-2')).toBe(false);
    await one.releaseRun('run-a', 'exec-1');
    expect(await one.claimRun('run-a', 'exec-2')).toBe(true);
  });

  it('orphans are the unfinished runs nobody holds, pending then running then cleaning up', async () => {
    const one = new SingleProcess(
      runsInStates([
        { id: 'run-c', state: 'cleaning_up' },
        { id: 'run-r', state: 'running' },
        { id: 'run-p', state: 'pending' },
        { id: 'run-held', state: 'running' },
        { id: 'run-s', state: 'succeeded' },
        { id: 'run-f', state: 'failed' },
      ]),
      true,
    );
    await one.claimRun('run-held', 'exec-1');
    expect((await one.orphanedRuns()).map((r) => r.id)).toEqual(['run-p', 'run-r', 'run-c']);
  });

  it('leads only as the writer; admissions run one at a time, in order, a failed one freeing the next', async () => {
    expect(await new SingleProcess(runsInStates([]), false).leads()).toBe(false);
    const one = new SingleProcess(runsInStates([]), true);
    expect(await one.leads()).toBe(true);
    const order: string[] = [];
    let release!: () => void;
    const first = one.exclusive(async () => {
      order.push('first in');
      await new Promise<void>((r) => (release = r));
      order.push('first out');
      throw new Error('first failed');
    });
    const second = one.exclusive(async () => {
      order.push('second');
      return 'second done';
    });
    await Promise.resolve();
    expect(order).toEqual(['first in']);
    release();
    await expect(first).rejects.toThrow('first failed');
    expect(await second).toBe('second done');
    expect(order).toEqual(['first in', 'first out', 'second']);
  });
});
