/** Reading runs and the VMs they made, from the store's indexes; nothing here writes. */
import { CodedError } from '../errors.js';
import type { RunRecord, RunState, VmRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { INTERRUPTED_RUN_STATES } from '../store/run-states.js';
import { vmIdOf, type VmState } from '../store/vm-record.js';

export type RunReadStore = Pick<Store, 'getRun' | 'runsBy' | 'getVm' | 'vmsBy'>;

/** The VMs the bot manages: those that exist as far as it knows, being deleted, or noticed deleted outside it. */
const MANAGED_VM_STATES: readonly VmState[] = ['live', 'deleting', 'gone'];
const isManaged = (vm: Pick<VmRecord, 'state'>): boolean => MANAGED_VM_STATES.includes(vm.state);

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

  /** VMs the bot made that still exist as far as it knows (and those noticed gone), in the order they were asked for. */
  ownedVms(): VmRecord[] {
    return MANAGED_VM_STATES.flatMap((state) => this.#store.vmsBy('state', state)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** One VM the bot made and still manages, by the id of the run that made it (what buttons carry). */
  ownedVm(runId: string): VmRecord | undefined {
    const vm = this.#store.getVm(vmIdOf(runId));
    return vm && isManaged(vm) ? vm : undefined;
  }

  /** The VM run `runId` made, which the caller knows exists. */
  requireVm(runId: string): VmRecord {
    const vm = this.#store.getVm(vmIdOf(runId));
    if (!vm) throw new CodedError('VM_NOT_FOUND', `run ${runId} made no VM the bot knows of`);
    return vm;
  }

  /** The VMs `user` owns (asked for, or was handed). */
  vmsOwnedBy(user: string): VmRecord[] {
    return this.#store.vmsBy('owner', user, isManaged);
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
