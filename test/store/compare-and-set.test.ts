import { describe, expect, it } from 'vitest';
import { lostRace, nextVersion } from '../../src/store/compare-and-set.js';
import { StoreError } from '../../src/store/store.js';

interface Rec {
  id: string;
  version: number;
  state: string;
  updatedAt: string;
  note?: string;
}

const stored = (): Rec => ({ id: 'run-a', version: 3, state: 'pending', updatedAt: '2024-01-01T00:00:00.000Z' });
const at = () => new Date('2024-05-06T07:08:09.000Z');

function refusal(work: () => unknown): StoreError {
  try {
    work();
  } catch (err) {
    if (err instanceof StoreError) return err;
    throw err;
  }
  throw new Error('expected a StoreError');
}

describe('nextVersion (the compare in compare-and-set)', () => {
  it('returns a changed copy one version on, stamped now, and leaves the stored record as it was', () => {
    const current = stored();
    const next = nextVersion('runs', 'run-a', current, { version: 3, states: ['pending', 'running'] }, (r) => (r.note = 'changed'), at);
    expect(next).toEqual({ id: 'run-a', version: 4, state: 'pending', updatedAt: '2024-05-06T07:08:09.000Z', note: 'changed' });
    expect(current).toEqual(stored());
  });

  it('applies to whatever is current when the change names no version or states', () => {
    expect(nextVersion('requests', 'REQ-1', { ...stored(), id: 'REQ-1' }, {}, (r) => (r.state = 'approved'), at)).toMatchObject({
      version: 4,
      state: 'approved',
    });
  });

  it('a missing record: STORE_NOT_FOUND naming the record, and mutate never runs', () => {
    let ran = false;
    const err = refusal(() => nextVersion<Rec>('requests', 'REQ-9', undefined, {}, () => (ran = true), at));
    expect([err.code, err.message, ran]).toEqual(['STORE_NOT_FOUND', 'no request REQ-9', false]);
  });

  it('another version: STORE_CONFLICT saying which it is and which was expected', () => {
    const err = refusal(() => nextVersion('runs', 'run-a', stored(), { version: 2 }, () => undefined, at));
    expect([err.code, err.message]).toEqual(['STORE_CONFLICT', 'run run-a changed meanwhile (version 3, expected 2)']);
  });

  it('a state the change does not expect: STORE_CONFLICT naming the state and the ones expected, checked after the version', () => {
    const err = refusal(() => nextVersion('runs', 'run-a', stored(), { version: 3, states: ['failed', 'not_started'] }, () => undefined, at));
    expect([err.code, err.message]).toEqual(['STORE_CONFLICT', 'run run-a is pending, not failed or not_started']);
    const both = refusal(() => nextVersion('runs', 'run-a', stored(), { version: 1, states: ['failed'] }, () => undefined, at));
    expect(both.message).toBe('run run-a changed meanwhile (version 3, expected 1)');
  });

  it('a refused mutate changes nothing and its error reaches the caller', () => {
    const current = stored();
    expect(() =>
      nextVersion('runs', 'run-a', current, {}, (r) => {
        r.note = 'half';
        throw new Error('refused by the caller');
      }),
    ).toThrow('refused by the caller');
    expect(current).toEqual(stored());
  });

  it('a lost race is a conflict in the same words for both kinds', () => {
    expect([lostRace('runs', 'run-a').code, lostRace('runs', 'run-a').message]).toEqual([
      'STORE_CONFLICT',
      'run run-a changed meanwhile (another change got there first)',
    ]);
    expect(lostRace('requests', 'REQ-1').message).toBe('request REQ-1 changed meanwhile (another change got there first)');
  });
});
