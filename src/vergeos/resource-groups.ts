/**
 * Resource groups are named two ways: by uuid (VergeOS's primary key, what the seed page sends)
 * and by `$key` (what pyVergeOS sends and reads back). One place decides whether two names are
 * the same group.
 */
import type { Device, ResourceGroup } from './types.js';

const normal = (ref: string | number) => String(ref).trim().toLowerCase();

/** The group a spec or plan names, by uuid or key. */
export function findResourceGroup(groups: readonly ResourceGroup[], ref: string | number | undefined): ResourceGroup | undefined {
  if (ref === undefined) return undefined;
  const wanted = normal(ref);
  return groups.find((g) => normal(g.uuid) === wanted || (g.key !== undefined && normal(g.key) === wanted));
}

/** Whether a device read back from VergeOS belongs to the group named `ref` (uuid or key). */
export function deviceInGroup(device: Pick<Device, 'resourceGroup' | 'resourceGroupUuid'>, ref: string | number): boolean {
  const wanted = normal(ref);
  return [device.resourceGroup, device.resourceGroupUuid].some((v) => v !== undefined && normal(v) === wanted);
}

/** Devices in use for a group, from counts keyed by whatever VergeOS returned (uuid or key). */
export function devicesInUseOf(group: ResourceGroup, inUse: ReadonlyMap<string, number>): number {
  const refs = new Set([normal(group.uuid), ...(group.key === undefined ? [] : [normal(group.key)])]);
  let total = 0;
  for (const [ref, n] of inUse) if (refs.has(normal(ref))) total += n;
  return total;
}
