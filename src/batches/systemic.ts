/**
 * Which run failures will repeat for every other VM of a batch (the same spec, another name):
 * those stop the batch from starting more VMs. A failure tied to one VM — its name taken
 * meanwhile, a lost answer, an import that failed — does not.
 */
import type { RunError } from '../store/records.js';

const SYSTEMIC_CODES: ReadonlySet<string> = new Set([
  'VERGEOS_TIER_FULL', // the tier every VM's disks go to is full
  'VERGEOS_UNAUTHORIZED', // the bot's credentials
  'VERGEOS_FORBIDDEN',
  'VERGEOS_UNAVAILABLE', // VergeOS down, after the client's retries
  'VERGEOS_TLS',
  'VERGEOS_RATE_LIMITED', // more VMs would only send more calls the key has no budget for
  'VERGEOS_VALIDATION', // the same body would be refused again
]);

export function isSystemic(error: RunError): boolean {
  if (SYSTEMIC_CODES.has(error.code)) return true;
  // A missing cluster, vnet, media file or resource group is missing for everyone; a missing
  // machine (someone deleted this VM meanwhile) is about this VM alone.
  if (error.code === 'VERGEOS_NOT_FOUND') return !/machine/i.test(error.vergeosMessage ?? '');
  return false;
}
