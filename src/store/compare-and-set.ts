/**
 * The compare in compare-and-set, for both stores: a change applies only to a record that still
 * has the version the caller read and/or is in one of the states it expects; the new version is a
 * changed copy numbered one higher. Each store then makes it durable its own way (a journal line,
 * or an UPDATE conditional on the version).
 */
import { StoreError, type StoreExpect } from './store.js';

export type RecordTable = 'runs' | 'requests' | 'vms';

/** What a record needs for compare-and-set. */
export interface Versioned {
  id: string;
  version: number;
  state: string;
  updatedAt: string;
}

const NOUNS: Record<RecordTable, string> = { runs: 'run', requests: 'request', vms: 'VM' };
const nounOf = (table: RecordTable): string => NOUNS[table];

/**
 * The next version of `current` if it matches `expect`: a copy `mutate` changed, its version one
 * higher and `updatedAt` now. STORE_NOT_FOUND without a record; STORE_CONFLICT when it moved on
 * (another version) or is in a state the change does not expect. `current` is left as it was.
 */
export function nextVersion<T extends Versioned>(
  table: RecordTable,
  id: string,
  current: T | undefined,
  expect: StoreExpect<string>,
  mutate: (draft: T) => void,
  now: () => Date = () => new Date(),
): T {
  const noun = nounOf(table);
  if (!current) throw new StoreError('STORE_NOT_FOUND', `no ${noun} ${id}`);
  if (expect.version !== undefined && current.version !== expect.version) {
    throw new StoreError('STORE_CONFLICT', `${noun} ${id} changed meanwhile (version ${current.version}, expected ${expect.version})`);
  }
  if (expect.states && !expect.states.includes(current.state)) {
    throw new StoreError('STORE_CONFLICT', `${noun} ${id} is ${current.state}, not ${expect.states.join(' or ')}`);
  }
  const draft = structuredClone(current);
  mutate(draft);
  draft.version = current.version + 1;
  draft.updatedAt = now().toISOString();
  return draft;
}

/** The write was refused because another change (of this process or another) was stored first. */
export function lostRace(table: RecordTable, id: string): StoreError {
  return new StoreError('STORE_CONFLICT', `${nounOf(table)} ${id} changed meanwhile (another change got there first)`);
}
