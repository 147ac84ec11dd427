/**
 * Pre-flight checks of a spec against VergeOS before a request is filed: hard problems become
 * field errors in the modal, soft ones warnings for the lead. Bounded in time so the submission
 * is still answered within Slack's 3 s; what could not be checked becomes a warning.
 */
import type { FieldError } from '../spec/validate.js';
import type { VmSpec } from '../spec/schema.js';
import { formatBytes } from '../spec/units.js';
import type { VergeosApi } from '../vergeos/client.js';

export interface PreflightResult {
  errors: FieldError[];
  warnings: string[];
}

const NEARLY_FULL = 0.9;

export async function preflight(api: VergeosApi, spec: VmSpec, deadlineMs = 2_000): Promise<PreflightResult> {
  const checks = runChecks(api, spec);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), deadlineMs)));
  try {
    const outcome = await Promise.race([checks.catch((err: unknown) => ({ error: err as Error })), late]);
    if (outcome === 'late') return { errors: [], warnings: ['VergeOS was too slow to pre-check this request (name, cluster, networks, media, tiers); they will be checked when it runs.'] };
    if ('error' in outcome) return { errors: [], warnings: [`Could not pre-check with VergeOS (${outcome.error.message}); it will be checked when it runs.`] };
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

async function runChecks(api: VergeosApi, spec: VmSpec): Promise<PreflightResult> {
  const needsFiles = spec.drives.some((d) => d.media_source !== undefined);
  const [existing, clusters, vnets, files, tiers, groups] = await Promise.all([
    api.findVmByName(spec.vm.name),
    spec.vm.cluster ? api.listClusters() : Promise.resolve([]),
    spec.nics.length ? api.listVnets() : Promise.resolve([]),
    needsFiles ? api.listMediaFiles() : Promise.resolve([]),
    spec.drives.length ? api.listStorageTiers() : Promise.resolve([]),
    spec.devices.length ? api.listResourceGroups() : Promise.resolve([]),
  ]);
  const errors: FieldError[] = [];
  const warnings: string[] = [];
  if (existing) errors.push({ path: 'vm.name', message: `${spec.vm.name} is already taken in VergeOS (VM key ${existing.key}); pick another name` });
  if (spec.vm.cluster) {
    const cluster = clusters.find((c) => c.key === spec.vm.cluster);
    if (!cluster) errors.push({ path: 'vm.cluster', message: `cluster ${spec.vm.cluster} does not exist in VergeOS` });
    else if (!cluster.enabled) errors.push({ path: 'vm.cluster', message: `cluster ${cluster.name} is disabled` });
    else {
      if (cluster.maxRamPerVm && spec.vm.ram > cluster.maxRamPerVm) errors.push({ path: 'vm.ram', message: `cluster ${cluster.name} allows at most ${formatBytes(cluster.maxRamPerVm * 1024 * 1024)} per VM` });
      if (cluster.maxCoresPerVm && spec.vm.cpu_cores > cluster.maxCoresPerVm) errors.push({ path: 'vm.cpu_cores', message: `cluster ${cluster.name} allows at most ${cluster.maxCoresPerVm} cores per VM` });
    }
  }
  spec.nics.forEach((nic, i) => {
    const vnet = vnets.find((n) => n.key === nic.vnet);
    if (!vnet) errors.push({ path: `nics[${i}].vnet`, message: `network ${nic.vnet} does not exist in VergeOS` });
    else if (!vnet.enabled) errors.push({ path: `nics[${i}].vnet`, message: `network ${vnet.name} is disabled` });
    else if (vnet.type === 'core' || vnet.type === 'dmz') warnings.push(`NIC ${i + 1} is on ${vnet.name}, a ${vnet.type} network; workloads usually don't belong there.`);
  });
  spec.drives.forEach((drive, i) => {
    if (drive.media_source !== undefined && !files.some((f) => f.key === drive.media_source)) {
      errors.push({ path: `drives[${i}].media_source`, message: `media source ${drive.media_source} does not exist in VergeOS` });
    }
  });
  spec.devices.forEach((device, i) => {
    const group = groups.find((g) => g.uuid === device.resource_group);
    if (!group) errors.push({ path: `devices[${i}].resource_group`, message: `resource group ${device.resource_group} does not exist in VergeOS` });
    else if (!group.enabled) errors.push({ path: `devices[${i}].resource_group`, message: `${group.name} is disabled` });
  });
  // Tier room: new disks and imported images consume their tier.
  const needed = new Map<string, { bytes: number; firstDrive: number }>();
  spec.drives.forEach((drive, i) => {
    const tier = drive.preferred_tier ?? '1';
    const bytes = drive.media === 'disk' ? (drive.disksize ?? 0) : drive.media === 'import' || drive.media === 'clone' ? (files.find((f) => f.key === drive.media_source)?.filesize ?? 0) : 0;
    if (!bytes) return;
    const entry = needed.get(tier) ?? { bytes: 0, firstDrive: i };
    entry.bytes += bytes;
    needed.set(tier, entry);
  });
  for (const [tierName, { bytes, firstDrive }] of needed) {
    const tier = tiers.find((t) => t.tier === tierName);
    if (!tier) {
      errors.push({ path: `drives[${firstDrive}].preferred_tier`, message: `storage tier ${tierName} does not exist in VergeOS` });
    } else if (bytes > tier.free) {
      errors.push({ path: `drives[${firstDrive}].disksize`, message: `tier ${tierName} has ${formatBytes(tier.free)} free, these disks need ${formatBytes(bytes)}: choose smaller disks or another tier` });
    } else if (tier.capacity && (tier.capacity - tier.free + bytes) / tier.capacity > NEARLY_FULL) {
      warnings.push(`Storage tier ${tierName} will be ${Math.round(((tier.capacity - tier.free + bytes) / tier.capacity) * 100)}% full after this VM (${formatBytes(tier.free - bytes)} left).`);
    }
  }
  return { errors, warnings };
}
