/**
 * Pure planning: a VM spec becomes the ordered VergeOS calls that build it. VM first (cloud-init
 * inline), then each drive, NIC and device against the machine key the first step returns, then
 * — only if asked — wait for imports and power on with the VM key. A clone is one call (VergeOS
 * copies the source's drives and NICs) and, if asked, power on.
 */
import type { DeviceSpec, DriveSpec, NicSpec, VmSpec } from '../vmspec/schema.js';
import type { DeviceCreateBody, DriveCreateBody, NicCreateBody, VmCreateBody } from '../vergeos/types.js';
import { VGPU_DEVICE_TYPE } from '../vergeos/enums.js';

export type PlanStep =
  | { id: 'create_vm'; kind: 'create_vm'; body: VmCreateBody }
  /** `source`: the name of the VM cloned (for people); `body.vm` its VM key, `body.name` the new VM's name. */
  | { id: 'clone_vm'; kind: 'clone_vm'; source: string; body: CloneBody }
  | { id: string; kind: 'add_drive'; index: number; body: Omit<DriveCreateBody, 'machine'> & { name: string } }
  | { id: string; kind: 'add_nic'; index: number; body: Omit<NicCreateBody, 'machine'> & { name: string } }
  | { id: string; kind: 'add_device'; index: number; body: Omit<DeviceCreateBody, 'machine'> }
  | { id: 'wait_imports'; kind: 'wait_imports' }
  | { id: 'power_on'; kind: 'power_on' };

export type StepKind = PlanStep['kind'];

/** What a clone step asks VergeOS for: a copy of VM `vm` (its VM key) named `name`. */
export interface CloneBody {
  vm: string;
  name: string;
}

/** The VM a clone copies: its VM key and its name when the clone was asked for. */
export interface CloneSource {
  vmKey: string;
  name: string;
}

export interface Plan {
  vmName: string;
  steps: PlanStep[];
}

/** Keys that later steps need: the VM key for actions, the machine key for hardware. */
export interface PlanKeys {
  vmKey?: string | undefined;
  machineKey?: string | undefined;
}

export interface ApiCall {
  method: 'POST' | 'GET';
  path: string;
  body?: Record<string, unknown>;
}

const bool = (v: boolean | undefined): 'true' | 'false' | undefined => (v === undefined ? undefined : v ? 'true' : 'false');

function defined<T extends Record<string, unknown>>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/** Drives and NICs always get a name, so a run can find them again after an unknown outcome. */
export function driveName(drive: DriveSpec, index: number): string {
  return drive.name ?? `${drive.media}-${index + 1}`;
}

export function nicName(nic: NicSpec, index: number): string {
  return nic.name ?? `nic-${index + 1}`;
}

/**
 * Cloud-init files as VergeOS's own clients name them (`/user-data`): pyVergeOS and PSVergeOS send
 * the leading slash and vergecli adds it when missing. Recipes may write either form.
 */
export function cloudInitFileName(name: string): string {
  return name.startsWith('/') ? name : `/${name}`;
}

export function vmCreateBody(spec: VmSpec): VmCreateBody {
  const vm = spec.vm;
  const files = vm.cloudinit_files ?? [];
  return defined({
    name: vm.name,
    description: vm.description,
    cluster: vm.cluster,
    cpu_cores: vm.cpu_cores,
    ram: vm.ram,
    guest_agent: bool(vm.guest_agent),
    uefi: bool(vm.uefi),
    secure_boot: bool(vm.secure_boot),
    video: vm.video,
    rtc_base: vm.rtc_base,
    os_family: vm.os_family,
    machine_type: vm.machine_type,
    console_pass_hash: vm.console_pass_hash ?? '',
    cloudinit_datasource: vm.cloudinit_datasource ?? (files.length ? 'nocloud' : undefined),
    cloudinit_files: files.length ? files.map((f) => ({ name: cloudInitFileName(f.name), contents: f.contents })) : undefined,
  });
}

export function driveBody(drive: DriveSpec, index: number): Omit<DriveCreateBody, 'machine'> & { name: string } {
  return defined({
    name: driveName(drive, index),
    description: drive.description,
    media: drive.media,
    interface: drive.interface,
    // VergeOS ignores a size for copied media; leave it out so the plan shows what matters.
    disksize: drive.media === 'import' || drive.media === 'clone' || drive.media === 'cdrom' ? undefined : drive.disksize,
    preferred_tier: drive.preferred_tier,
    media_source: drive.media_source,
    show_pt: bool(drive.show_pt),
  });
}

export function nicBody(nic: NicSpec, index: number): Omit<NicCreateBody, 'machine'> & { name: string } {
  return defined({ vnet: nic.vnet, name: nicName(nic, index), interface: nic.interface, enabled: nic.enabled, ipaddress: nic.ipaddress });
}

/** A uuid goes as text, a key as the number VergeOS's clients send. */
function groupRef(ref: string): string | number {
  return /^\d+$/.test(ref) ? Number(ref) : ref;
}

/**
 * A vGPU's settings as pyVergeOS's `create_vgpu` sends them when none are given. Sent in full, under
 * what the recipe or form sets, so the plan the lead approves shows every setting VergeOS gets.
 */
export const VGPU_DEFAULT_SETTINGS: Readonly<Record<string, unknown>> = Object.freeze({
  frame_rate_limiter: 60,
  attach_drivers: false,
  disable_vnc: false,
  enable_uvm: false,
  enable_debugging: false,
  enable_profiling: false,
  profile_type: 'any',
});

/** The settings a device is sent with: a vGPU's over the defaults; another device's as given. */
export function deviceSettings(device: Pick<DeviceSpec, 'type' | 'settings_args'>): Record<string, unknown> | undefined {
  return device.type === VGPU_DEVICE_TYPE ? { ...VGPU_DEFAULT_SETTINGS, ...device.settings_args } : device.settings_args;
}

function deviceBody(device: DeviceSpec): Omit<DeviceCreateBody, 'machine'> {
  return defined({
    type: device.type,
    resource_group: device.resource_group === undefined ? undefined : groupRef(device.resource_group),
    settings_args: deviceSettings(device),
  });
}

/**
 * Step ids of a device row: `device:2` for its first device, `device:2#2` … for more (`count`).
 * Each device is its own POST, so each gets its own key and an unknown outcome is looked up one
 * device at a time.
 */
function deviceStepId(index: number, copy: number): string {
  return copy === 0 ? `device:${index}` : `device:${index}#${copy + 1}`;
}

export function planSpec(spec: VmSpec): Plan {
  const steps: PlanStep[] = [{ id: 'create_vm', kind: 'create_vm', body: vmCreateBody(spec) }];
  spec.drives.forEach((d, i) => steps.push({ id: `drive:${i}`, kind: 'add_drive', index: i, body: driveBody(d, i) }));
  spec.nics.forEach((n, i) => steps.push({ id: `nic:${i}`, kind: 'add_nic', index: i, body: nicBody(n, i) }));
  spec.devices.forEach((d, i) => {
    for (let copy = 0; copy < d.count; copy++) steps.push({ id: deviceStepId(i, copy), kind: 'add_device', index: i, body: deviceBody(d) });
  });
  if (spec.power_on) {
    if (spec.drives.some((d) => d.media === 'import' || d.media === 'clone')) steps.push({ id: 'wait_imports', kind: 'wait_imports' });
    steps.push({ id: 'power_on', kind: 'power_on' });
  }
  return { vmName: spec.vm.name, steps };
}

/**
 * A clone's plan: one `vm_actions` clone of the source (new MACs; VergeOS copies its drives and
 * NICs, so none are added), then power on if the spec asks for it.
 */
export function planClone(spec: VmSpec, source: CloneSource): Plan {
  const steps: PlanStep[] = [{ id: 'clone_vm', kind: 'clone_vm', source: source.name, body: { vm: source.vmKey, name: spec.vm.name } }];
  if (spec.power_on) steps.push({ id: 'power_on', kind: 'power_on' });
  return { vmName: spec.vm.name, steps };
}

/** The plan of a run (or anything shaped like one): a clone's when it clones, else its spec's. */
export function planRun(run: { spec: VmSpec; clone?: CloneSource | undefined }): Plan {
  return run.clone ? planClone(run.spec, run.clone) : planSpec(run.spec);
}

/** VergeOS takes the VM key of an action as a number (the client sends it so). */
function actionVmKey(key: string): string | number {
  return /^\d+$/.test(key) ? Number(key) : key;
}

export const MACHINE_KEY_FROM_STEP_1 = '<machine key from step 1>';
export const VM_KEY_FROM_STEP_1 = '<VM key from step 1>';

/**
 * The exact call a step makes. With keys missing (a plan not yet run) the keys are shown as
 * where they will come from; at run time they are the real ones.
 */
export function apiCallFor(step: PlanStep, keys: PlanKeys): ApiCall {
  const machine = keys.machineKey ?? MACHINE_KEY_FROM_STEP_1;
  switch (step.kind) {
    case 'create_vm':
      return { method: 'POST', path: '/api/v4/vms', body: { ...step.body } };
    case 'clone_vm':
      return {
        method: 'POST',
        path: '/api/v4/vm_actions',
        body: { vm: actionVmKey(step.body.vm), action: 'clone', params: { name: step.body.name, preserve_macs: false } },
      };
    case 'add_drive':
      return { method: 'POST', path: '/api/v4/machine_drives', body: { machine, ...step.body } };
    case 'add_nic':
      return { method: 'POST', path: '/api/v4/machine_nics', body: { machine, ...step.body } };
    case 'add_device':
      return { method: 'POST', path: '/api/v4/machine_devices', body: { machine, ...step.body } };
    case 'wait_imports':
      return { method: 'GET', path: `/api/v4/machine_drives?filter=machine eq ${machine}` };
    case 'power_on':
      return {
        method: 'POST',
        path: '/api/v4/vm_actions',
        body: { vm: keys.vmKey === undefined ? VM_KEY_FROM_STEP_1 : actionVmKey(keys.vmKey), action: 'poweron', params: {} },
      };
  }
}
