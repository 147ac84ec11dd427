/**
 * The fields and filters the client's list calls send: a VM's and a snapshot's fields, and many
 * machines asked in few calls.
 */
import { numericFilterValue } from './wire.js';

export const VM_FIELDS =
  '$key,name,machine,description,cpu_cores,ram,is_snapshot,need_restart,cluster,machine#status#status as status,machine#status#running as running';
export const SNAPSHOT_FIELDS = '$key,name,description,created,expires,quiesced,created_manually,machine,snap_machine';

/** Machines per list call: `machine eq 1 or machine eq 2 …` stays a URL every proxy takes (~2 KB). */
const MACHINES_PER_CALL = 100;

/** Filters `(machine eq 1 or machine eq 2 …)`, one per call, for many machines in few calls. */
export function machineChunks(machineKeys: readonly string[]): string[] {
  const keys = [...new Set(machineKeys)];
  const filters: string[] = [];
  for (let i = 0; i < keys.length; i += MACHINES_PER_CALL)
    filters.push(
      `(${keys
        .slice(i, i + MACHINES_PER_CALL)
        .map((k) => `machine eq ${numericFilterValue(k)}`)
        .join(' or ')})`,
    );
  return filters;
}
