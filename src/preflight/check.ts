/**
 * Pre-flight: a set of specs (one VM, or a whole batch) checked against VergeOS before anything
 * is created — names free and distinct; cluster, networks, media and devices exist and are
 * enabled; the capacity they need is there. Hard problems are field errors (the modal shows them
 * under the field, the CLI as file:field); soft ones are warnings for the lead.
 */
import type { VmSpec } from '../vmspec/schema.js';
import { parseSpec, type FieldError } from '../vmspec/validate.js';
import { DEVICE_TYPE_LABELS } from '../plan/render.js';
import { RESOURCE_GROUP_TYPES, type DeviceType } from '../vergeos/enums.js';
import { findResourceGroup } from '../vergeos/resource-groups.js';
import { formatMegabytes } from '../vmspec/units.js';
import type { VergeosApi } from '../vergeos/client.js';
import type { Cluster, MediaFile, ResourceGroup, Vnet } from '../vergeos/types.js';
import { checkCapacity, type CapacityOptions } from './capacity.js';

export interface PreflightResult {
  errors: FieldError[];
  warnings: string[];
  /** The resource groups looked at (their types say which devices are GPUs), when devices were asked. */
  resourceGroups?: ResourceGroup[] | undefined;
  /**
   * The specs to file and run: as given, with each device's type filled in from its resource
   * group where the spec named only the group. Absent when there are errors.
   */
  specs?: VmSpec[] | undefined;
}

/** Names VergeOS already uses (live VMs, not snapshots), a few list calls for many names. */
export async function takenNames(api: VergeosApi, names: readonly string[]): Promise<Map<string, string>> {
  const taken = new Map<string, string>();
  const chunks: string[][] = [];
  for (let i = 0; i < names.length; i += 20) chunks.push(names.slice(i, i + 20));
  for (const vms of await Promise.all(chunks.map((chunk) => api.findVmsByName(chunk)))) for (const vm of vms) taken.set(vm.name, vm.key);
  return taken;
}

export async function preflightSpecs(api: VergeosApi, specs: readonly VmSpec[], options: CapacityOptions = {}): Promise<PreflightResult> {
  const any = (test: (s: VmSpec) => boolean) => specs.some(test);
  const needsFiles = any((s) => s.drives.some((d) => d.media_source !== undefined));
  const needsDevices = any((s) => s.devices.some((d) => d.type !== 'tpm'));
  const needsCluster = any((s) => s.vm.cluster !== undefined);
  const [taken, clusters, clusterStatus, vnets, files, tiers, groups, devicesInUse] = await Promise.all([
    takenNames(
      api,
      specs.map((s) => s.vm.name),
    ),
    needsCluster ? api.listClusters() : Promise.resolve([]),
    any((s) => s.power_on && s.vm.cluster !== undefined) ? api.listClusterStatus() : Promise.resolve([]),
    any((s) => s.nics.length > 0) ? api.listVnets() : Promise.resolve([]),
    needsFiles ? api.listMediaFiles() : Promise.resolve([]),
    any((s) => s.drives.length > 0) ? api.listStorageTiers() : Promise.resolve([]),
    needsDevices ? api.listResourceGroups() : Promise.resolve([]),
    needsDevices ? api.countDevicesInUse() : Promise.resolve(new Map<string, number>()),
  ]);
  const errors: FieldError[] = [];
  const warnings: string[] = [];
  errors.push(...nameErrors(specs, taken));
  // The specs of a batch differ only in name: check each distinct field once.
  const once = new Set<string>();
  const push = (list: FieldError[] | string[], item: FieldError | string) => {
    const key = typeof item === 'string' ? item : `${item.path}|${item.message}`;
    if (once.has(key)) return;
    once.add(key);
    (list as Array<FieldError | string>).push(item);
  };
  for (const spec of specs) {
    for (const e of clusterErrors(spec, clusters)) push(errors, e);
    const found = referenceProblems(spec, vnets, files, groups);
    for (const e of found.errors) push(errors, e);
    for (const w of found.warnings) push(warnings, w);
  }
  const capacity = checkCapacity(specs, { tiers, files, groups, devicesInUse, clusterStatus }, options);
  for (const e of capacity.errors) push(errors, e);
  for (const w of capacity.warnings) push(warnings, w);
  let resolved: VmSpec[] | undefined;
  if (!errors.length) {
    resolved = specs.map((spec) => withDeviceTypes(spec, groups));
    // Settings that depend on the type (vGPU) are checked now that every type is known.
    const reparsed = parseSpec(resolved[0]);
    if (!reparsed.ok) for (const e of reparsed.errors) push(errors, e);
  }
  return { errors, warnings, ...(needsDevices ? { resourceGroups: groups } : {}), ...(errors.length ? {} : { specs: resolved }) };
}

/** A spec whose devices all carry a type: the one given, else the resource group's own. */
export function withDeviceTypes(spec: VmSpec, groups: readonly ResourceGroup[]): VmSpec {
  if (spec.devices.every((d) => d.type !== undefined)) return spec;
  return {
    ...spec,
    devices: spec.devices.map((d) => {
      if (d.type !== undefined) return d;
      const type = findResourceGroup(groups, d.resource_group)?.type;
      return isGroupType(type) ? { ...d, type } : d;
    }),
  };
}

function isGroupType(type: string | undefined): type is DeviceType {
  return (RESOURCE_GROUP_TYPES as readonly string[]).includes(type ?? '');
}

function nameErrors(specs: readonly VmSpec[], taken: Map<string, string>): FieldError[] {
  const names = specs.map((s) => s.vm.name);
  const seen = new Set<string>();
  const twice = names.filter((n) => (seen.has(n) ? true : (seen.add(n), false)));
  const errors: FieldError[] = [];
  if (twice.length)
    errors.push({ path: 'vm.name', message: `the same name is asked for twice (${[...new Set(twice)].slice(0, 5).join(', ')}); put {n} in the name pattern` });
  if (taken.size === 1 && specs.length === 1) {
    const [name, key] = [...taken][0]!;
    errors.push({ path: 'vm.name', message: `${name} is already taken in VergeOS (VM key ${key}); pick another name` });
  } else if (taken.size) {
    const list = [...taken]
      .slice(0, 5)
      .map(([name, key]) => `${name} (VM key ${key})`)
      .join(', ');
    errors.push({
      path: 'vm.name',
      message: `${taken.size} of the ${specs.length} names are already taken in VergeOS: ${list}${taken.size > 5 ? ', …' : ''}; pick another name pattern`,
    });
  }
  return errors;
}

function clusterErrors(spec: VmSpec, clusters: Cluster[]): FieldError[] {
  if (!spec.vm.cluster) return [];
  const cluster = clusters.find((c) => c.key === spec.vm.cluster);
  if (!cluster) return [{ path: 'vm.cluster', message: `cluster ${spec.vm.cluster} does not exist in VergeOS` }];
  if (!cluster.enabled) return [{ path: 'vm.cluster', message: `cluster ${cluster.name} is disabled` }];
  const errors: FieldError[] = [];
  if (cluster.maxRamPerVm && spec.vm.ram > cluster.maxRamPerVm)
    errors.push({ path: 'vm.ram', message: `cluster ${cluster.name} allows at most ${formatMegabytes(cluster.maxRamPerVm)} per VM` });
  if (cluster.maxCoresPerVm && spec.vm.cpu_cores > cluster.maxCoresPerVm)
    errors.push({ path: 'vm.cpu_cores', message: `cluster ${cluster.name} allows at most ${cluster.maxCoresPerVm} cores per VM` });
  return errors;
}

function referenceProblems(spec: VmSpec, vnets: Vnet[], files: MediaFile[], groups: ResourceGroup[]): PreflightResult {
  const errors: FieldError[] = [];
  const warnings: string[] = [];
  spec.nics.forEach((nic, i) => {
    const vnet = vnets.find((n) => n.key === nic.vnet);
    if (!vnet) errors.push({ path: `nics[${i}].vnet`, message: `network ${nic.vnet} does not exist in VergeOS` });
    else if (!vnet.enabled) errors.push({ path: `nics[${i}].vnet`, message: `network ${vnet.name} is disabled` });
    else if (vnet.type === 'core' || vnet.type === 'dmz')
      warnings.push(`NIC ${i + 1} is on ${vnet.name}, a ${vnet.type} network; workloads usually don't belong there.`);
  });
  spec.drives.forEach((drive, i) => {
    if (drive.media_source !== undefined && !files.some((f) => f.key === drive.media_source)) {
      errors.push({ path: `drives[${i}].media_source`, message: `media source ${drive.media_source} does not exist in VergeOS` });
    }
  });
  spec.devices.forEach((device, i) => {
    if (device.type === 'tpm') return; // virtual: nothing in VergeOS to find
    const group = findResourceGroup(groups, device.resource_group);
    if (!group) errors.push({ path: `devices[${i}].resource_group`, message: `resource group ${device.resource_group} does not exist in VergeOS` });
    else if (!group.enabled) errors.push({ path: `devices[${i}].resource_group`, message: `${group.name} is disabled` });
    else if (!isGroupType(group.type))
      errors.push({ path: `devices[${i}].resource_group`, message: `${group.name} has a device type the bot does not know (${group.type || 'none'})` });
    else if (device.type !== undefined && device.type !== group.type) {
      errors.push({
        path: `devices[${i}].type`,
        message: `${group.name} holds ${DEVICE_TYPE_LABELS[group.type]}s, not ${DEVICE_TYPE_LABELS[device.type]}s: set type: ${group.type} or leave type out`,
      });
    }
  });
  return { errors, warnings };
}
