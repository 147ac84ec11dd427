/**
 * VergeOS's own word that it did not take a request in: a 429 (over the key's budget), or the
 * connection dropped under it (a node drops a session past its burst limit, with no answer).
 * Such a send may go again, but only once a lookup confirms nothing was made (a proxy may answer
 * 429 after the request took effect), and only a few times in one go, each saved in flight first.
 */
import { isVergeosError } from '../vergeos/errors.js';
import { DROPPED_CODES } from '../vergeos/transport.js';

/** Sends of one step (or change) in one execution, the first included. */
export const MAX_SENDS = 3;

/** Whether VergeOS turned the call away (rate-limited, or dropped the connection) rather than failing it some other way. */
export function turnedAway(err: unknown): boolean {
  if (!isVergeosError(err)) return false;
  if (err.code === 'VERGEOS_RATE_LIMITED') return true;
  return err.code === 'VERGEOS_UNAVAILABLE' && err.status === undefined && err.transportCode !== undefined && DROPPED_CODES.has(err.transportCode);
}

/** The reason, in the operator's words, for a log line or an audit record. */
export function turnedAwayReason(err: unknown): string {
  return isVergeosError(err) && err.code === 'VERGEOS_RATE_LIMITED' ? 'VergeOS answered 429' : 'VergeOS dropped the connection';
}
