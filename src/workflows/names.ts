/**
 * VM names: normalized once at the edge (trimmed; control characters refused) and reserved by
 * the requests that will create them, so two live requests never ask for the same name.
 */
import { requestSpecs } from '../requests/requests.js';
import { LIVE_REQUEST_STATES, type RequestRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { FieldError } from '../vmspec/validate.js';

/** Requests that make new VMs, and so reserve their names: one, a batch, or a copy. */
const NEW_VM_KINDS: ReadonlySet<RequestRecord['kind']> = new Set(['vm', 'batch', 'clone']);

/** Which of `names` a live request (waiting, pending, approved, provisioning) already asks for. */
export function nameClashes(store: Store, names: readonly string[]): FieldError | undefined {
  const wanted = new Set(names);
  const clashes: string[] = [];
  for (const state of LIVE_REQUEST_STATES)
    for (const request of store.requestsBy('state', state, (r) => NEW_VM_KINDS.has(r.kind)))
      for (const spec of requestSpecs(request)) if (wanted.has(spec.vm.name)) clashes.push(`${spec.vm.name} (${request.id})`);
  if (!clashes.length) return undefined;
  const list = clashes.slice(0, 5).join(', ') + (clashes.length > 5 ? ', …' : '');
  return {
    path: 'vm.name',
    message:
      clashes.length === 1 && names.length === 1
        ? `${list.replace(/ \((REQ-\d+)\)$/, '')} is already asked for by ${/REQ-\d+/.exec(list)![0]}, which is not finished; pick another name`
        : `${clashes.length} of the names are already asked for by requests that are not finished: ${list}; pick another name pattern`,
  };
}
