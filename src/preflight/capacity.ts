/**
 * Capacity arithmetic, pure: what a set of VMs (one, or a whole batch) needs — new disk per
 * storage tier, devices per resource group, RAM and cores per cluster for VMs that power on —
 * against what VergeOS reports free. Single-VM pre-flight and batch pre-flight both use this.
 */
import type { VmSpec } from '../vmspec/schema.js';
import type { FieldError } from '../vmspec/validate.js';
import { formatBytes, formatMegabytes } from '../vmspec/units.js';
import type { ClusterStatus, MediaFile, ResourceGroup, StorageTier } from '../vergeos/types.js';
import { devicesInUseOf, findResourceGroup } from '../vergeos/resource-groups.js';

export interface CapacityInventory {
  tiers: StorageTier[];
  files: MediaFile[];
  groups: ResourceGroup[];
  /** Devices attached to VMs, by resource group uuid. */
  devicesInUse: Map<string, number>;
  clusterStatus: ClusterStatus[];
}

export interface CapacityOptions {
  /** Share of a tier's capacity kept free (default 0.05). */
  tierMargin?: number;
  /** Above this share used after the VMs, the lead is warned (default 0.9). */
  nearlyFull?: number;
}

export interface CapacityResult {
  errors: FieldError[];
  warnings: string[];
}

/** Bytes a drive takes on its tier: a new disk's size, or the image an import/clone copies. */
export function driveBytes(drive: VmSpec['drives'][number], files: MediaFile[]): number {
  if (drive.media === 'disk') return drive.disksize ?? 0;
  if (drive.media === 'import' || drive.media === 'clone') return files.find((f) => f.key === drive.media_source)?.filesize ?? 0;
  return 0;
}

interface Need {
  total: number;
  /** Per VM, to say "500 × 100 GiB" when every VM needs the same. */
  perVm: number[];
  /** Where the first contributing field is, for the modal's field error. */
  path: string;
}

function add(needs: Map<string, Need>, key: string, vm: number, amount: number, path: string, vms: number): void {
  if (!amount) return;
  const need = needs.get(key) ?? { total: 0, perVm: new Array<number>(vms).fill(0), path };
  need.total += amount;
  need.perVm[vm] = (need.perVm[vm] ?? 0) + amount;
  needs.set(key, need);
}

/** "500 × 100 GiB" when the VMs that need it all need the same, else "these VMs". */
function howMuch(need: Need, unit: (n: number) => string): string {
  const using = need.perVm.filter((n) => n > 0);
  if (using.length === 1) return `this VM needs ${unit(need.total)}`;
  if (using.every((n) => n === using[0])) return `${using.length} × ${unit(using[0]!)} needs ${unit(need.total)}`;
  return `these ${using.length} VMs need ${unit(need.total)}`;
}

export function checkCapacity(specs: readonly VmSpec[], inv: CapacityInventory, options: CapacityOptions = {}): CapacityResult {
  const margin = options.tierMargin ?? 0.05;
  const nearlyFull = options.nearlyFull ?? 0.9;
  const errors: FieldError[] = [];
  const warnings: string[] = [];
  const tiers = new Map<string, Need>();
  const devices = new Map<string, Need>();
  const ram = new Map<string, Need>();
  const cores = new Map<string, Need>();
  specs.forEach((spec, vm) => {
    spec.drives.forEach((drive, i) =>
      add(
        tiers,
        drive.preferred_tier ?? '1',
        vm,
        driveBytes(drive, inv.files),
        `drives[${i}].${drive.media === 'disk' ? 'disksize' : 'media_source'}`,
        specs.length,
      ),
    );
    spec.devices.forEach((device, i) => {
      if (device.resource_group !== undefined) add(devices, device.resource_group, vm, device.count, `devices[${i}].resource_group`, specs.length);
    });
    // RAM and cores are held only by running VMs; a VM left off takes none yet.
    if (spec.power_on && spec.vm.cluster) {
      add(ram, spec.vm.cluster, vm, spec.vm.ram, 'vm.ram', specs.length);
      add(cores, spec.vm.cluster, vm, spec.vm.cpu_cores, 'vm.cpu_cores', specs.length);
    }
  });

  for (const [tierName, need] of tiers) {
    const tier = inv.tiers.find((t) => t.tier === tierName);
    if (!tier) {
      errors.push({ path: need.path.replace(/\.\w+$/, '.preferred_tier'), message: `storage tier ${tierName} does not exist in VergeOS` });
      continue;
    }
    // Refused on what is written (capacity − used), as VergeOS and its clients count room; allocation
    // past capacity only warns: thin disks take room as they are written.
    const reserve = Math.round(tier.capacity * margin);
    const usable = Math.max(0, tier.free - reserve);
    const figures = `${formatBytes(tier.used)} used, ${formatBytes(tier.allocated)} allocated of ${formatBytes(tier.capacity)}`;
    if (need.total > usable) {
      const kept = reserve ? `; ${Math.round(margin * 100)}% kept in reserve` : '';
      errors.push({
        path: need.path,
        message: `tier ${tierName} has ${formatBytes(usable)} free (${figures}${kept}); ${howMuch(need, formatBytes)}: choose smaller disks, another tier or fewer VMs`,
      });
      continue;
    }
    if (!tier.capacity) continue;
    const usedAfter = tier.used + need.total;
    if (usedAfter / tier.capacity > nearlyFull)
      warnings.push(
        `Storage tier ${tierName} will be ${Math.round((usedAfter / tier.capacity) * 100)}% full after this (${formatBytes(tier.free - need.total)} left; ${figures}).`,
      );
    const allocatedAfter = tier.allocated + need.total;
    if (allocatedAfter > tier.capacity)
      warnings.push(
        `Storage tier ${tierName} is over-committed: ${formatBytes(allocatedAfter)} allocated of ${formatBytes(tier.capacity)} after this (${formatBytes(tier.used)} used); thin disks may fill it as they are written.`,
      );
  }

  for (const [ref, need] of devices) {
    const group = findResourceGroup(inv.groups, ref);
    if (!group || group.resourceCount === undefined) continue; // existence is checked elsewhere; no count, no check
    const free = Math.max(0, group.resourceCount - devicesInUseOf(group, inv.devicesInUse));
    if (need.total > free) {
      const count = (n: number) => `${n} device${n === 1 ? '' : 's'}`;
      errors.push({ path: need.path, message: `${group.name} has ${count(free)} free of ${group.resourceCount}; ${howMuch(need, count)}` });
    }
  }

  const coreCount = (n: number) => `${n} core${n === 1 ? '' : 's'}`;
  const clusterResources = [
    {
      needs: ram,
      online: (c: ClusterStatus) => c.onlineRam,
      used: (c: ClusterStatus) => c.usedRam,
      amount: formatMegabytes,
      free: (n: number) => `${formatMegabytes(n)} of RAM`,
    },
    { needs: cores, online: (c: ClusterStatus) => c.onlineCores, used: (c: ClusterStatus) => c.usedCores, amount: coreCount, free: coreCount },
  ];
  for (const resource of clusterResources) {
    for (const [cluster, need] of resource.needs) {
      const status = inv.clusterStatus.find((c) => c.cluster === cluster);
      const online = status && resource.online(status);
      const used = status && resource.used(status);
      if (online === undefined || used === undefined) continue; // not reported: not checked
      const free = Math.max(0, online - used);
      if (need.total > free)
        errors.push({
          path: need.path,
          message: `cluster ${cluster} has ${resource.free(free)} free for running VMs; ${howMuch(need, resource.amount)}: fewer or smaller VMs, or leave them powered off`,
        });
    }
  }
  return { errors, warnings };
}
