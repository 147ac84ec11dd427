/**
 * A request's states, which state may follow which, and the named sets the code asks about
 * ("is it still undecided?", "does it hold its names?"), kept in one place like the run's
 * (`run-states.ts`).
 */

/**
 * `waiting_preflight`: filed while VergeOS could not supply the facts the policy decides on
 * (device kinds, capacity, names free); not approvable until the background re-check decides it.
 */
export const REQUEST_STATES = [
  'waiting_preflight',
  'pending',
  'approved',
  'provisioning',
  'succeeded',
  'failed',
  'rejected',
  'cancelled',
  'expired',
  'cleaned_up',
] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

/** A request is filed waiting for pre-flight, pending a decision, or approved by the policy at once. */
export const INITIAL_REQUEST_STATES = ['waiting_preflight', 'pending', 'approved'] as const satisfies readonly RequestState[];

/**
 * Which states a request is moved to from each, as `requests.ts` moves it: a waiting request is
 * decided by the re-check (pending, approved, or rejected) or cancelled or expired meanwhile; a
 * pending one approved, rejected, cancelled or expired; an approved one provisioned (an extension
 * is applied at once: succeeded, or cancelled when its VM went meanwhile); provisioning ends
 * succeeded or failed; a failed one is retried (provisioning again) or cleaned up.
 */
export const REQUEST_TRANSITIONS = {
  waiting_preflight: ['pending', 'approved', 'rejected', 'cancelled', 'expired'],
  pending: ['approved', 'rejected', 'cancelled', 'expired'],
  approved: ['provisioning', 'succeeded', 'cancelled'],
  provisioning: ['succeeded', 'failed'],
  failed: ['provisioning', 'cleaned_up'],
  succeeded: [],
  rejected: [],
  cancelled: [],
  expired: [],
  cleaned_up: [],
} as const satisfies Record<RequestState, readonly RequestState[]>;

/** Whether a request in `from` may be moved to `to` (staying in a state is always allowed). */
export function requestMayFollow(from: RequestState, to: RequestState): boolean {
  return from === to || (REQUEST_TRANSITIONS[from] as readonly RequestState[]).includes(to);
}

/** Requests nobody has decided yet: they may still be cancelled by their requester, or expire. */
export const UNDECIDED_REQUEST_STATES = ['waiting_preflight', 'pending'] as const satisfies readonly RequestState[];
/** Requests that hold their names and count against a requester's limits until they end. */
export const LIVE_REQUEST_STATES: readonly RequestState[] = ['waiting_preflight', 'pending', 'approved', 'provisioning'];
/** Requests done with: nothing follows them (archived once old). A failed request may still be retried or cleaned up. */
export const CLOSED_REQUEST_STATES = REQUEST_STATES.filter((state) => REQUEST_TRANSITIONS[state].length === 0);

/** A predicate on a request's state from one of the sets above. */
export function inRequestStates(states: readonly RequestState[]): (state: RequestState) => boolean {
  const set: ReadonlySet<RequestState> = new Set(states);
  return (state) => set.has(state);
}

export const isUndecided = inRequestStates(UNDECIDED_REQUEST_STATES);
export const isLiveRequest = inRequestStates(LIVE_REQUEST_STATES);
export const isClosedRequest = inRequestStates(CLOSED_REQUEST_STATES);
