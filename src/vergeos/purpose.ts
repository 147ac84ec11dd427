/**
 * Why a VergeOS call is made. The caller says it once around a piece of work (`withPurpose`), and
 * every call inside it, however deep, is counted and budgeted under it: the client needs no extra
 * parameter, and a workflow started from a click keeps the purpose it set for itself.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export const PURPOSES = [
  /** Creating a VM and its parts, and looking up what an unknown outcome left. */
  'provision',
  /** A day-2 change (resize, disks, NICs, snapshots, clone). */
  'change',
  /** Checking a request against VergeOS before anyone is asked. */
  'preflight',
  /** A person's click or command: power, delete, the form's pickers, their VM list. */
  'user',
  /** Lease steps: power-offs and deletions that fall due (served as work under way: they hold the VM). */
  'lease',
  /** Background checks: VMs deleted outside the bot, requests waiting for pre-flight. */
  'sweep',
  /** Live state for views (addresses of new VMs, App Home). */
  'refresh',
  /** Whether VergeOS answers at all. */
  'readiness',
  /** Anything not labelled (counted, budgeted as work under way). */
  'other',
] as const;
export type Purpose = (typeof PURPOSES)[number];

/**
 * Who is served first when calls must wait: someone waiting for an answer now (a click, a form's
 * pre-flight, a command), then work under way (provisioning, changes, lease steps — which hold a
 * VM's claim while they wait), then background work, which never takes the budget's last reserve.
 */
export type Priority = 0 | 1 | 2;
const PRIORITY: Record<Purpose, Priority> = {
  user: 0,
  preflight: 0,
  provision: 1,
  change: 1,
  lease: 1,
  other: 1,
  sweep: 2,
  refresh: 2,
  readiness: 2,
};
export const BACKGROUND_PRIORITY: Priority = 2;

export function priorityOf(purpose: Purpose): Priority {
  return PRIORITY[purpose];
}

interface CallContext {
  purpose: Purpose;
  /** Aborted when nobody waits for the answer any more: a call still waiting for the budget leaves the queue unsent. */
  abandoned?: AbortSignal | undefined;
}

const current = new AsyncLocalStorage<CallContext>();

/** Run `work` with every VergeOS call in it counted under `purpose` (an inner withPurpose wins). */
export function withPurpose<T>(purpose: Purpose, work: () => Promise<T>): Promise<T> {
  return current.run({ ...current.getStore(), purpose }, work);
}

/**
 * Run `work` whose answer is wanted only until `abandoned` aborts (a form's deadline): calls in it
 * still waiting for the request budget then give up unsent instead of spending a token on an
 * answer nobody reads.
 */
export function withDeadline<T>(abandoned: AbortSignal, work: () => Promise<T>): Promise<T> {
  return current.run({ purpose: current.getStore()?.purpose ?? 'other', abandoned }, work);
}

export function currentPurpose(): Purpose {
  return current.getStore()?.purpose ?? 'other';
}

export function currentDeadline(): AbortSignal | undefined {
  return current.getStore()?.abandoned;
}
