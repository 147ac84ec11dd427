/**
 * A run's states, which state may follow which, and the named sets the code asks about ("is it
 * unfinished?", "may it be cleaned up?", "does it hold a VM?"), so no module keeps its own copy of
 * a state list (SQL included: the literal lists below are derived from the same sets).
 */
import type { RunRecord } from './records.js';

/**
 * `not_started`: a batch stopped on a failure that would repeat before this run began (nothing
 * created). `decommissioned`: a VM that was provisioned, deleted on purpose through the bot.
 */
export const RUN_STATES = ['pending', 'running', 'succeeded', 'failed', 'not_started', 'cleaning_up', 'cleaned_up', 'decommissioned'] as const;
export type RunState = (typeof RUN_STATES)[number];

/** A run is created pending (one per VM of a request, all of a batch at once). */
export const INITIAL_RUN_STATE = 'pending' satisfies RunState;

/**
 * Which states a run is moved to from each, as the provisioner and the lease sweep move it:
 * executed (pending, failed, not_started, or resumed) → running → succeeded | failed; a stopped
 * batch's pending runs → not_started; cleaned up (failed, not_started) or decommissioned
 * (succeeded, by hand or by a lease's end) → cleaning_up → cleaned_up | decommissioned, or back to
 * failed when a cleanup's deletion fails. A change that keeps the state (a step saved, an owner or
 * lease changed, a resumed run or cleanup) is always allowed: see `mayFollow`.
 */
export const RUN_TRANSITIONS = {
  pending: ['running', 'not_started'],
  running: ['succeeded', 'failed'],
  failed: ['running', 'cleaning_up'],
  not_started: ['running', 'cleaning_up'],
  succeeded: ['cleaning_up'],
  cleaning_up: ['cleaned_up', 'decommissioned', 'failed'],
  cleaned_up: [],
  decommissioned: [],
} as const satisfies Record<RunState, readonly RunState[]>;

/** Whether a run in `from` may be moved to `to` (staying in a state is always allowed). */
export function mayFollow(from: RunState, to: RunState): boolean {
  return from === to || (RUN_TRANSITIONS[from] as readonly RunState[]).includes(to);
}

/** Runs someone still has to finish: executing, waiting to, or being deleted. Another process continues them if their own died. */
export const UNFINISHED_RUN_STATES = ['pending', 'running', 'cleaning_up'] as const satisfies readonly RunState[];
/** Runs a process was in the middle of (it died or stopped): resumed at start-up. */
export const INTERRUPTED_RUN_STATES = ['running', 'cleaning_up'] as const satisfies readonly RunState[];
/** Runs that may be executed: started, resumed, or retried from the step that failed. */
export const EXECUTABLE_RUN_STATES = ['pending', 'running', 'failed', 'not_started'] as const satisfies readonly RunState[];
/** Runs that ended without their VM and may be run again (a retry). */
export const RETRYABLE_RUN_STATES = ['failed', 'not_started'] as const satisfies readonly RunState[];
/** Runs whose leftovers may be deleted (a cleanup), or whose cleanup is under way. */
export const CLEANABLE_RUN_STATES = ['failed', 'not_started', 'cleaning_up'] as const satisfies readonly RunState[];
/** Runs whose VM may be deleted on purpose (a decommission), or whose deletion is under way. */
export const DECOMMISSIONABLE_RUN_STATES = ['succeeded', 'cleaning_up'] as const satisfies readonly RunState[];
/** Runs done with: their VM deleted, or never made. Nothing follows them (archived once old). */
export const DONE_RUN_STATES = RUN_STATES.filter((state) => RUN_TRANSITIONS[state].length === 0);

/** A predicate on a run's state from one of the sets above. */
export function inRunStates(states: readonly RunState[]): (state: RunState) => boolean {
  const set: ReadonlySet<RunState> = new Set(states);
  return (state) => set.has(state);
}

export const isUnfinished = inRunStates(UNFINISHED_RUN_STATES);
export const isInterrupted = inRunStates(INTERRUPTED_RUN_STATES);
export const isExecutable = inRunStates(EXECUTABLE_RUN_STATES);
export const isRetryable = inRunStates(RETRYABLE_RUN_STATES);
export const isCleanable = inRunStates(CLEANABLE_RUN_STATES);
export const isDone = inRunStates(DONE_RUN_STATES);

/** A run whose VM the bot made and has not deleted (a live VM): succeeded, or being decommissioned. */
export function isLiveVm(run: Pick<RunRecord, 'state' | 'decommission'>): boolean {
  return run.state === 'succeeded' || (run.state === 'cleaning_up' && run.decommission !== undefined);
}

/** A failed run (or one being cleaned up) that may have left a VM: a VM key, or a create (or clone) whose outcome is unknown. */
export function mayHaveLeftVm(run: Pick<RunRecord, 'state' | 'keys' | 'steps'>): boolean {
  const unknown = run.steps.create_vm?.status === 'in_flight' || run.steps.clone_vm?.status === 'in_flight';
  return (run.state === 'failed' || run.state === 'cleaning_up') && (run.keys.vmKey !== undefined || unknown);
}

/** Whether this run's VM exists (or is being built), and so counts against quotas. */
export function holdsVm(run: Pick<RunRecord, 'state' | 'keys' | 'steps' | 'goneAt'>): boolean {
  if (run.goneAt) return false; // deleted outside the bot, and noticed
  if (run.state === 'pending' || run.state === 'running' || run.state === 'succeeded') return true;
  return mayHaveLeftVm(run);
}

/**
 * States as an SQL literal list (`'pending', 'running'`) for `state IN (…)`. Only names from the
 * state lists reach it, and each is checked to be a plain word, so nothing needs quoting.
 */
export function sqlStateList(states: readonly string[]): string {
  for (const state of states) if (!/^[a-z_]+$/.test(state)) throw new Error(`not a state name: ${state}`);
  return states.map((state) => `'${state}'`).join(', ');
}

/** `'pending', 'running', 'cleaning_up'`: unfinished runs in PostgreSQL queries. */
export const UNFINISHED_RUN_STATES_SQL = sqlStateList(UNFINISHED_RUN_STATES);
