import { describe, expect, it } from 'vitest';
import { holdsVm as quotaHoldsVm } from '../../src/policy/quota.js';
import type { RunRecord } from '../../src/store/records.js';
import {
  CLOSED_REQUEST_STATES,
  INITIAL_REQUEST_STATES,
  isLiveRequest,
  isUndecided,
  REQUEST_STATES,
  REQUEST_TRANSITIONS,
  requestMayFollow,
  type RequestState,
} from '../../src/store/request-states.js';
import {
  DONE_RUN_STATES,
  holdsVm,
  INITIAL_RUN_STATE,
  isCleanable,
  isExecutable,
  isLiveVm,
  isUnfinished,
  mayFollow,
  mayHaveLeftVm,
  RUN_STATES,
  RUN_TRANSITIONS,
  sqlStateList,
  UNFINISHED_RUN_STATES_SQL,
  type RunState,
} from '../../src/store/run-states.js';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';

/** Every state reachable from `from` by the table. */
function reachable<S extends string>(table: Record<S, readonly S[]>, from: readonly S[]): S[] {
  const seen = new Set<S>(from);
  const queue = [...from];
  for (let s = queue.shift(); s !== undefined; s = queue.shift())
    for (const next of table[s])
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
  return [...seen];
}

const runIn = (state: RunState, extra: Partial<RunRecord> = {}) =>
  ({ state, keys: {}, steps: {}, ...extra }) as Pick<RunRecord, 'state' | 'keys' | 'steps' | 'goneAt' | 'decommission'>;

describe('run states', () => {
  it('moves runs the way the provisioner and lease sweep do, and nothing follows a run done with', () => {
    expect(mayFollow('pending', 'running')).toBe(true);
    expect(mayFollow('pending', 'not_started')).toBe(true);
    expect(mayFollow('running', 'succeeded')).toBe(true);
    expect(mayFollow('failed', 'running')).toBe(true); // a retry
    expect(mayFollow('succeeded', 'cleaning_up')).toBe(true); // a decommission, or a lease's end
    expect(mayFollow('cleaning_up', 'failed')).toBe(true); // a cleanup whose deletion failed
    expect(mayFollow('running', 'running')).toBe(true); // a step saved, or a resumed run
    expect(mayFollow('succeeded', 'running')).toBe(false);
    expect(mayFollow('pending', 'succeeded')).toBe(false);
    expect(mayFollow('decommissioned', 'cleaning_up')).toBe(false);
    expect(DONE_RUN_STATES).toEqual(['cleaned_up', 'decommissioned']);
    expect(reachable(RUN_TRANSITIONS, [INITIAL_RUN_STATE]).sort()).toEqual([...RUN_STATES].sort());
  });

  it('names its sets by what the code asks', () => {
    expect(RUN_STATES.filter(isUnfinished)).toEqual(['pending', 'running', 'cleaning_up']);
    expect(RUN_STATES.filter(isExecutable)).toEqual(['pending', 'running', 'failed', 'not_started']);
    expect(RUN_STATES.filter(isCleanable)).toEqual(['failed', 'not_started', 'cleaning_up']);
    expect(isLiveVm(runIn('succeeded'))).toBe(true);
    expect(isLiveVm(runIn('cleaning_up'))).toBe(false); // a failed run's cleanup: no VM of the owner's
    expect(isLiveVm(runIn('cleaning_up', { decommission: { by: 'U1', at: '2024-01-01T00:00:00Z' } }))).toBe(true);
  });

  it('holds a VM while it is built or lives, or while a failed one may have left it, and never once it is gone', () => {
    const held = RUN_STATES.filter((s) => holdsVm(runIn(s)));
    expect(held).toEqual(['pending', 'running', 'succeeded']);
    const partial = RUN_STATES.filter((s) => holdsVm(runIn(s, { keys: { vmKey: '42' } })));
    expect(partial).toEqual(['pending', 'running', 'succeeded', 'failed', 'cleaning_up']);
    expect(mayHaveLeftVm(runIn('failed', { steps: { create_vm: { status: 'in_flight', attempts: 1 } } }))).toBe(true);
    expect(holdsVm(runIn('succeeded', { goneAt: '2024-01-01T00:00:00Z' }))).toBe(false);
  });

  it('agrees with the quota module on which runs hold a VM', () => {
    for (const state of RUN_STATES)
      for (const extra of [{}, { keys: { vmKey: '42' } }, { goneAt: '2024-01-01T00:00:00Z' }]) {
        const run = runIn(state, extra);
        expect([state, extra, holdsVm(run)]).toEqual([state, extra, quotaHoldsVm(run)]);
      }
  });

  it('writes its SQL lists from the same sets, and the partial index of unfinished runs matches the orphan query', () => {
    expect(UNFINISHED_RUN_STATES_SQL).toBe("'pending', 'running', 'cleaning_up'");
    expect(MIGRATIONS.find((m) => m.name === 'run claims')!.sql).toContain(`WHERE state IN (${UNFINISHED_RUN_STATES_SQL})`);
    expect(() => sqlStateList(["pending'; DROP TABLE runs; --"])).toThrow('not a state name');
  });
});

describe('request states', () => {
  it('moves requests the way requests.ts does, and nothing follows a closed one', () => {
    expect(requestMayFollow('waiting_preflight', 'approved')).toBe(true);
    expect(requestMayFollow('pending', 'expired')).toBe(true);
    expect(requestMayFollow('approved', 'succeeded')).toBe(true); // an extension, applied at once
    expect(requestMayFollow('failed', 'provisioning')).toBe(true); // a retry
    expect(requestMayFollow('provisioning', 'pending')).toBe(false);
    expect(requestMayFollow('rejected', 'approved')).toBe(false);
    expect(CLOSED_REQUEST_STATES).toEqual(['succeeded', 'rejected', 'cancelled', 'expired', 'cleaned_up']);
    expect(reachable(REQUEST_TRANSITIONS, INITIAL_REQUEST_STATES).sort()).toEqual([...REQUEST_STATES].sort());
  });

  it('names its sets: undecided ones may be cancelled or expire; live ones hold their names', () => {
    expect(REQUEST_STATES.filter(isUndecided)).toEqual(['waiting_preflight', 'pending']);
    expect(REQUEST_STATES.filter(isLiveRequest)).toEqual(['waiting_preflight', 'pending', 'approved', 'provisioning']);
    const everyState: RequestState[] = [...REQUEST_STATES];
    expect(everyState.filter((s) => !isLiveRequest(s) && !CLOSED_REQUEST_STATES.includes(s))).toEqual(['failed']);
  });
});
