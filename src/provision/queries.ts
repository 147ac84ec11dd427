/** Reading runs and the VMs they made, from the store's indexes; nothing here writes. */
import { CodedError } from '../errors.js';
import type { RunRecord, RunState } from '../store/records.js';
import type { Store } from '../store/store.js';
import { DECOMMISSIONABLE_RUN_STATES, INTERRUPTED_RUN_STATES, isLiveVm } from '../store/run-states.js';

export type RunReadStore = Pick<Store, 'getRun' | 'runsBy'>;

/** A run whose VM the bot made and has not deleted: succeeded, or being decommissioned. */
export function isOwnedVm(run: Pick<RunRecord, 'state' | 'decommission'>): boolean {
  return isLiveVm(run);
}

export class RunQueries {
  readonly #store: RunReadStore;

  constructor(store: RunReadStore) {
    this.#store = store;
  }

  /** The run of that id, which the caller knows exists (an unknown id is the caller's mistake). */
  require(runId: string): RunRecord {
    const run = this.#store.getRun(runId);
    if (!run) throw new CodedError('RUN_NOT_FOUND', `no run ${runId}`);
    return run;
  }

  /** The run made for a request, if any (a restart between approval and start must not make two). */
  runForRequest(requestId: string): RunRecord | undefined {
    return this.#store.runsBy('requestId', requestId)[0];
  }

  /** A request's runs (one, or a batch's), in the order they were created. */
  runsForRequest(requestId: string): RunRecord[] {
    return this.#store.runsBy('requestId', requestId);
  }

  /** The runs of a batch, in the order they were created. */
  runsOfBatch(batchId: string): RunRecord[] {
    return this.#store.runsBy('group', batchId);
  }

  /** VMs the bot made that still exist as far as it knows (and those noticed gone). */
  ownedVms(): RunRecord[] {
    return this.runsInStates(DECOMMISSIONABLE_RUN_STATES, isOwnedVm);
  }

  /** One VM the bot made and still manages, by its run id. */
  ownedVm(runId: string): RunRecord | undefined {
    const run = this.#store.getRun(runId);
    return run && isOwnedVm(run) ? run : undefined;
  }

  /** The VMs `user` owns (asked for, or was handed). */
  vmsOwnedBy(user: string): RunRecord[] {
    return this.#store.runsBy('owner', user, isOwnedVm);
  }

  /** Copies of the runs in these states that pass `filter`, oldest first (found through the state index). */
  runsInStates(states: readonly RunState[], filter?: (run: Readonly<RunRecord>) => boolean): RunRecord[] {
    const runs = states.flatMap((state) => this.#store.runsBy('state', state, filter));
    return states.length > 1 ? runs.sort((a, b) => a.createdAt.localeCompare(b.createdAt)) : runs;
  }

  /** Runs interrupted mid-way (the process died): resume these at start-up. */
  interruptedRuns(): RunRecord[] {
    return this.runsInStates(INTERRUPTED_RUN_STATES);
  }
}
