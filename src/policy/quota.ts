/**
 * Quota arithmetic, pure: what VMs made through the bot hold (vCPU, RAM, new disk, VM count),
 * counted from the VMs' records (their configuration now) and the runs still making one, against a
 * limit. A run holds its VM while it is pending or running, or failed with a VM left behind; a VM
 * record while it lives or is being deleted — not once deleted, nor once the bot has noticed it was
 * deleted outside it.
 */
import type { VmSpec } from '../vmspec/schema.js';
import { formatBytes, formatMegabytes } from '../vmspec/units.js';
import type { QuotaLimits } from './schema.js';
import { holdsVm } from '../store/run-states.js';
import { ownerOf, type RunRecord } from '../store/records.js';

export interface QuotaUse {
  vcpu: number;
  /** MB, as VergeOS counts RAM. */
  ramMb: number;
  /** Bytes of new disk. */
  diskBytes: number;
  vms: number;
}

export const NO_USE: QuotaUse = Object.freeze({ vcpu: 0, ramMb: 0, diskBytes: 0, vms: 0 });

export function useOfSpecs(specs: readonly VmSpec[]): QuotaUse {
  return specs.reduce<QuotaUse>(
    (use, s) => ({
      vcpu: use.vcpu + s.vm.cpu_cores,
      ramMb: use.ramMb + s.vm.ram,
      diskBytes: use.diskBytes + s.drives.reduce((sum, d) => sum + (d.media === 'disk' ? (d.disksize ?? 0) : 0), 0),
      vms: use.vms + 1,
    }),
    NO_USE,
  );
}

/** Whether this run's VM exists (or is being built) and so counts (one definition, with the run states). */
export { holdsVm };

/**
 * The runs holding VMs, by owner: everyone who owns one, and one owner's. The bot answers from the
 * store's owner index, so counting a quota visits only the runs of the owners it counts.
 */
export interface HeldVms {
  owners(): Iterable<string>;
  /** What an owner holds, as configurations: VMs as they are now, runs still making one, specs approved but not yet run. */
  of(owner: string): ReadonlyArray<{ readonly spec: VmSpec }>;
}

/** HeldVms over a list of runs (the command line, tests). */
export function heldVmsIn(runs: readonly RunRecord[]): HeldVms {
  const byOwner = new Map<string, RunRecord[]>();
  for (const run of runs.filter(holdsVm)) {
    const owner = ownerOf(run);
    const theirs = byOwner.get(owner);
    if (theirs) theirs.push(run);
    else byOwner.set(owner, [run]);
  }
  return { owners: () => byOwner.keys(), of: (owner) => byOwner.get(owner) ?? [] };
}

/** What the VMs of these owners hold (the owner is who asked for it, unless it was handed on). */
export function useOf(held: HeldVms, owners: Iterable<string>): QuotaUse {
  return useOfSpecs([...owners].flatMap((owner) => held.of(owner).map((r) => r.spec)));
}

/** What `a` holds beyond `b` (negative where it holds less): a change's effect on a quota. */
export function subtractUse(a: QuotaUse, b: QuotaUse): QuotaUse {
  return { vcpu: a.vcpu - b.vcpu, ramMb: a.ramMb - b.ramMb, diskBytes: a.diskBytes - b.diskBytes, vms: a.vms - b.vms };
}

export function addUse(a: QuotaUse, b: QuotaUse): QuotaUse {
  return { vcpu: a.vcpu + b.vcpu, ramMb: a.ramMb + b.ramMb, diskBytes: a.diskBytes + b.diskBytes, vms: a.vms + b.vms };
}

const DIMENSIONS = [
  { limit: 'vcpu', use: 'vcpu', amount: String, label: 'vCPU' },
  { limit: 'ram', use: 'ramMb', amount: formatMegabytes, label: 'RAM', toUse: (bytes: number) => bytes / (1024 * 1024) },
  { limit: 'disk', use: 'diskBytes', amount: formatBytes, label: 'disk' },
  { limit: 'vms', use: 'vms', amount: String, label: 'VMs' },
] as const;

/** "24 of 16 vCPU", "48 GiB of 64 GiB RAM". */
const ofLimit = (d: (typeof DIMENSIONS)[number], use: number, limit: number) => `${use === 0 ? '0' : d.amount(use)} of ${d.amount(limit)} ${d.label}`;

/** Limits in the units of QuotaUse (RAM in MB). */
function limitOf(limits: QuotaLimits, d: (typeof DIMENSIONS)[number]): number | undefined {
  const raw = limits[d.limit];
  if (raw === undefined) return undefined;
  return 'toUse' in d ? d.toUse(raw) : raw;
}

/**
 * Each limited dimension over its limit after adding, as "20 of 16 vCPU". Empty: it fits. A change
 * to a VM (`growingOnly`) is over only in what it grows: shrinking never needs quota room.
 */
export function overQuota(limits: QuotaLimits, before: QuotaUse, adding: QuotaUse, growingOnly = false): string[] {
  const after = addUse(before, adding);
  const over: string[] = [];
  for (const d of DIMENSIONS) {
    const limit = limitOf(limits, d);
    if (limit !== undefined && after[d.use] > limit && (!growingOnly || adding[d.use] > 0)) over.push(ofLimit(d, after[d.use], limit));
  }
  return over;
}

/** "12 of 16 vCPU, 48 GiB of 64 GiB RAM" for the limited dimensions. */
export function describeUse(limits: QuotaLimits, use: QuotaUse): string {
  const parts = DIMENSIONS.flatMap((d) => {
    const limit = limitOf(limits, d);
    return limit === undefined ? [] : [ofLimit(d, use[d.use], limit)];
  });
  return parts.length ? parts.join(', ') : 'no limits';
}
