/**
 * Pre-flight for a change, before anyone is asked: what VergeOS would accept and then fail on
 * (RAM or cores above the cluster's per-VM maximum: the PUT succeeds and the VM then won't start),
 * capacity (tier room for disk, free RAM and cores on the cluster for a running VM that grows),
 * a drive grown only, names free, networks that exist, and a restore only of a VM that is off.
 * Problems are field errors named by the input they are about (the modal's field, the CLI's flag).
 */
import { driveName } from '../plan/plan.js';
import { specDrive } from '../vmchange/describe.js';
import { checkCapacity } from '../preflight/capacity.js';
import type { VmRecord } from '../store/vm-record.js';
import { withPurpose } from '../vergeos/purpose.js';
import type { VergeosApi } from '../vergeos/client.js';
import type { VmChange } from '../vmchange/schema.js';
import type { VmSpec } from '../vmspec/schema.js';
import { formatBytes, formatMegabytes } from '../vmspec/units.js';
import type { FieldError } from '../vmspec/validate.js';

export interface ChangeCheck {
  errors: FieldError[];
  warnings: string[];
  /** Whether the VM runs now (a resize then waits for a power cycle; a restore is refused). */
  running: boolean;
  /** The change completed with what pre-flight read (the size a restore goes back to): what is judged and sent. */
  change: VmChange;
}

/** The field each kind of change is about, for errors that are about it as a whole. */
export const CHANGE_FIELD: Record<VmChange['action'], string> = {
  resize: 'cpu_cores',
  disk_add: 'size',
  disk_grow: 'to',
  nic_add: 'vnet',
  snapshot_create: 'name',
  snapshot_restore: 'snapshot',
  snapshot_delete: 'snapshot',
};

export function preflightChange(api: VergeosApi, vm: VmRecord, change: VmChange, tierMargin = 0.05): Promise<ChangeCheck> {
  return withPurpose('preflight', () => checkChange(api, vm, change, tierMargin));
}

async function checkChange(api: VergeosApi, vm: VmRecord, change: VmChange, tierMargin: number): Promise<ChangeCheck> {
  let completed = change;
  const machine = vm.keys.machineKey;
  if (!machine)
    return {
      errors: [{ path: CHANGE_FIELD[change.action], message: `${vm.name} has no machine key on record, so the bot can't change it` }],
      warnings: [],
      running: false,
      change,
    };
  const status = await api.machineStatus(machine);
  const running = status?.status === 'running' || status?.status === 'starting';
  const errors: FieldError[] = [];
  const warnings: string[] = [];
  const capacityFor = async (drive: VmSpec['drives'][number], path: string) => {
    const [tiers, files] = await Promise.all([api.listStorageTiers(), drive.media_source ? api.listMediaFiles() : Promise.resolve([])]);
    const alone: VmSpec = { ...vm.spec, power_on: false, drives: [drive], nics: [], devices: [] };
    const found = checkCapacity([alone], { tiers, files, groups: [], devicesInUse: new Map(), clusterStatus: [] }, { tierMargin });
    errors.push(...found.errors.map((e) => ({ path: /tier/.test(e.path) ? 'tier' : path, message: e.message })));
    warnings.push(...found.warnings);
    if (drive.media_source && !files.some((f) => f.key === drive.media_source))
      errors.push({ path: 'media', message: `media file ${drive.media_source} does not exist in VergeOS` });
  };
  switch (change.action) {
    case 'resize': {
      const { cpu_cores: cores, ram } = vm.spec.vm;
      // The same size again is only the power cycle its record says it still needs (`--restart`).
      if (change.cpu_cores === cores && change.ram === ram && !(vm.needRestart && change.restart))
        errors.push({ path: 'cpu_cores', message: `${vm.name} already has ${cores} vCPU and ${formatMegabytes(ram)} RAM` });
      const clusterKey = vm.spec.vm.cluster ?? (await api.getVm(vm.keys.vmKey)).cluster;
      const [clusters, statuses] = await Promise.all([api.listClusters(), running ? api.listClusterStatus() : Promise.resolve([])]);
      const cluster = clusters.find((c) => c.key === clusterKey) ?? (clusterKey === undefined ? clusters[0] : undefined);
      // Without its cluster's limits the bot can't tell VergeOS would start it: no.
      if (!cluster) {
        errors.push({
          path: 'cpu_cores',
          message: `VergeOS does not list ${vm.name}'s cluster (${clusterKey ?? 'none given'}), so its limits can't be checked; nothing was changed`,
        });
        break;
      }
      const where = `cluster ${cluster.name}`;
      if (cluster.maxCoresPerVm !== undefined && change.cpu_cores > cluster.maxCoresPerVm)
        errors.push({
          path: 'cpu_cores',
          message: `${where} runs VMs of at most ${cluster.maxCoresPerVm} cores; VergeOS would accept ${change.cpu_cores} and then refuse to start the VM`,
        });
      if (cluster.maxRamPerVm !== undefined && change.ram > cluster.maxRamPerVm)
        errors.push({
          path: 'ram',
          message: `${where} runs VMs of at most ${formatMegabytes(cluster.maxRamPerVm)} RAM; VergeOS would accept ${formatMegabytes(change.ram)} and then refuse to start the VM`,
        });
      const free = statuses.find((s) => s.cluster === cluster.key);
      if (running && free) {
        const moreRam = change.ram - ram;
        const moreCores = change.cpu_cores - cores;
        if (free.onlineRam !== undefined && free.usedRam !== undefined && moreRam > free.onlineRam - free.usedRam)
          errors.push({
            path: 'ram',
            message: `${where} has ${formatMegabytes(Math.max(0, free.onlineRam - free.usedRam))} of RAM free for running VMs; ${formatMegabytes(moreRam)} more is asked`,
          });
        if (free.onlineCores !== undefined && free.usedCores !== undefined && moreCores > free.onlineCores - free.usedCores)
          errors.push({
            path: 'cpu_cores',
            message: `${where} has ${Math.max(0, free.onlineCores - free.usedCores)} cores free for running VMs; ${moreCores} more are asked`,
          });
      }
      if (running && !change.restart) warnings.push(`${vm.name} is running: the new size takes effect at its next power cycle (restart needed)`);
      break;
    }
    case 'disk_add': {
      const drives = await api.listDrives(machine);
      if (drives.some((d) => d.name === change.drive.name)) errors.push({ path: 'name', message: `${vm.name} already has a drive named ${change.drive.name}` });
      await capacityFor(change.drive, 'size');
      break;
    }
    case 'disk_grow': {
      // Quotas count disks by the record's configuration: a drive it does not know as a disk would grow uncounted.
      const known = specDrive(vm, change.drive);
      if (known && known.media !== 'disk') {
        errors.push({ path: 'drive', message: `${change.drive} is a ${known.media} drive; only disks grow` });
        break;
      }
      const drive = (await api.listDrives(machine)).find((d) => d.name === change.drive);
      if (drive && !known) {
        errors.push({
          path: 'drive',
          message: `${change.drive} is not a disk the bot made or added to ${vm.name}, so its size is not counted; grow it in VergeOS`,
        });
        break;
      }
      if (!drive) {
        const names = vm.spec.drives.map((d, i) => driveName(d, i));
        errors.push({ path: 'drive', message: `${vm.name} has no drive named ${change.drive}${names.length ? ` (its drives: ${names.join(', ')})` : ''}` });
        break;
      }
      if (change.disksize <= drive.disksize) {
        errors.push({ path: 'to', message: `drive ${change.drive} is ${formatBytes(drive.disksize)}; a drive can only grow, so give more than that` });
        break;
      }
      await capacityFor(
        {
          media: 'disk',
          interface: 'virtio-scsi',
          disksize: change.disksize - drive.disksize,
          ...(drive.preferredTier ? { preferred_tier: drive.preferredTier as '1' } : {}),
        },
        'to',
      );
      break;
    }
    case 'nic_add': {
      const [vnets, nics] = await Promise.all([api.listVnets(), api.listNics(machine)]);
      const vnet = vnets.find((n) => n.key === change.nic.vnet);
      if (!vnet) errors.push({ path: 'vnet', message: `network ${change.nic.vnet} does not exist in VergeOS` });
      else if (!vnet.enabled) errors.push({ path: 'vnet', message: `network ${vnet.name} is disabled in VergeOS` });
      if (nics.some((n) => n.name === change.nic.name)) errors.push({ path: 'name', message: `${vm.name} already has a NIC named ${change.nic.name}` });
      break;
    }
    case 'snapshot_create': {
      const snapshots = await api.listSnapshots(machine);
      if (snapshots.some((s) => s.name === change.name)) errors.push({ path: 'name', message: `${vm.name} already has a snapshot named ${change.name}` });
      break;
    }
    case 'snapshot_restore': {
      if (!status) errors.push({ path: 'snapshot', message: `VergeOS did not say whether ${vm.name} is running, so it was not restored` });
      else if (running && !change.power_off)
        errors.push({ path: 'snapshot', message: `${vm.name} is running: power it off first (a snapshot is restored in place only on a VM that is off)` });
      else if (running) warnings.push(`${vm.name} is running: it will be powered off (gracefully) just before the restore`);
      // What it goes back to counts against quotas like a resize.
      const restoresTo = await snapshotSize(api, machine, change.snapshotKey);
      if (!restoresTo)
        errors.push({ path: 'snapshot', message: `VergeOS did not say what size snapshot ${change.snapshot} restores ${vm.name} to, so it was not restored` });
      else completed = { ...change, restores_to: restoresTo };
      break;
    }
    case 'snapshot_delete':
      break;
  }
  return { errors, warnings, running, change: completed };
}

/** The cores and RAM a snapshot holds (its own hidden VM's); undefined when VergeOS does not say. */
async function snapshotSize(api: VergeosApi, machine: string, snapshotKey: string): Promise<{ cpu_cores: number; ram: number } | undefined> {
  const snapshot = (await api.listSnapshots(machine)).find((s) => s.key === snapshotKey);
  const vmKey = snapshot?.snapMachineKey ? await api.snapshotVmKey(snapshot.snapMachineKey) : undefined;
  const vm = vmKey ? await api.getVm(vmKey) : undefined;
  return vm?.cpuCores && vm.ram ? { cpu_cores: vm.cpuCores, ram: vm.ram } : undefined;
}
