/**
 * Shapes of what VergeOS sends back, parsed at the edge. `$key` arrives as a string or a number
 * depending on table and release; everything inside the bot holds keys as strings.
 */
import { z } from 'zod';
import type { DeviceType } from './enums.js';

export const keySchema = z.union([z.string().min(1), z.number().int().nonnegative()]).transform(String);
const optionalKey = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) => (v === null || v === undefined || v === '' ? undefined : String(v)));
const num = z.coerce.number().catch(0);
/** Text VergeOS may send as null or leave out: ''. */
export const text = z
  .string()
  .nullish()
  .transform((v) => v ?? '');
/** A flag VergeOS sends as a boolean, 'true'/'1' or 1. */
export const flag = z
  .union([z.boolean(), z.string(), z.number()])
  .nullish()
  .transform((v) => v === true || v === 'true' || v === 1 || v === '1');

/** 201 body of every POST: `{location, dbpath, $row, $key}`, plus `response` on some tables. */
export const createdSchema = z.object({
  $key: keySchema,
  location: z.string().optional(),
  dbpath: z.string().optional(),
  $row: z.union([z.number(), z.string()]).optional(),
  response: z.record(z.string(), z.unknown()).optional(),
});

/** A created VM: `$key`, and its machine key in `response.machine` when VergeOS gives it. */
export const createdVmSchema = createdSchema.extend({
  response: z.object({ machine: keySchema.optional() }).loose().optional(),
});

export const createdDeviceSchema = createdSchema.extend({
  response: z.object({ uuid: z.string().optional() }).loose().optional(),
});

export interface CreatedVm {
  vmKey: string;
  machineKey: string;
}
export interface Created {
  key: string;
}
export interface CreatedDevice {
  key: string;
  uuid: string | undefined;
}

export const clusterSchema = z
  .object({
    $key: keySchema,
    name: text,
    description: text,
    enabled: flag.optional(),
    max_ram_per_vm: num.optional(),
    max_cores_per_vm: num.optional(),
  })
  .transform((c) => ({
    key: c.$key,
    name: c.name,
    description: c.description,
    enabled: c.enabled ?? true,
    maxRamPerVm: c.max_ram_per_vm,
    maxCoresPerVm: c.max_cores_per_vm,
  }));
export type Cluster = z.output<typeof clusterSchema>;

export const vnetSchema = z
  .object({ $key: keySchema, name: text, description: text, type: text, enabled: flag.optional() })
  .transform((n) => ({ key: n.$key, name: n.name, description: n.description, type: n.type, enabled: n.enabled ?? true }));
export type Vnet = z.output<typeof vnetSchema>;

export const mediaFileSchema = z
  .object({ $key: keySchema, name: text, description: text, filesize: num.optional(), type: text })
  .transform((f) => ({ key: f.$key, name: f.name, description: f.description, filesize: f.filesize ?? 0, type: f.type }));
export type MediaFile = z.output<typeof mediaFileSchema>;

export const storageTierSchema = z
  .object({ $key: keySchema, tier: keySchema, description: text, capacity: num, used: num, allocated: num.optional() })
  .transform((t) => ({
    key: t.$key,
    tier: t.tier,
    description: t.description,
    capacity: t.capacity,
    /** Bytes written on the tier. */
    used: t.used,
    /** Bytes promised to disks; thin disks let it pass capacity (the tier is over-committed). */
    allocated: t.allocated ?? t.used,
    /** capacity − used, as every VergeOS client shows it (allocation can exceed capacity on a thin tier). */
    free: Math.max(0, t.capacity - t.used),
  }));
export type StorageTier = z.output<typeof storageTierSchema>;

export const resourceGroupSchema = z
  .object({ $key: optionalKey, uuid: z.string().min(1), name: text, type: text, class: text, enabled: flag.optional(), resource_count: num.nullish() })
  .transform((g) => ({
    /** The group's `$key`, when VergeOS lists one (its primary key is the uuid). */
    key: g.$key,
    uuid: g.uuid,
    name: g.name,
    type: g.type,
    class: g.class,
    enabled: g.enabled ?? true,
    /** Devices in the group, when VergeOS reports it. */
    resourceCount: g.resource_count ?? undefined,
  }));
export type ResourceGroup = z.output<typeof resourceGroupSchema>;

/** Live capacity of a cluster (`/cluster_status`): RAM in MB, cores; `used_*` is what running VMs hold. */
export const clusterStatusSchema = z
  .object({ cluster: keySchema, online_ram: num.nullish(), used_ram: num.nullish(), online_cores: num.nullish(), used_cores: num.nullish() })
  .transform((c) => ({
    cluster: c.cluster,
    onlineRam: c.online_ram ?? undefined,
    usedRam: c.used_ram ?? undefined,
    onlineCores: c.online_cores ?? undefined,
    usedCores: c.used_cores ?? undefined,
  }));
export type ClusterStatus = z.output<typeof clusterStatusSchema>;

export const vgpuDeviceSchema = z
  .object({
    $key: keySchema,
    node: optionalKey,
    name: text,
    slot: text,
    vendor: text,
    device: text,
    max_instances: num.optional(),
  })
  .transform((d) => ({
    key: d.$key,
    node: d.node,
    name: d.name,
    slot: d.slot,
    vendor: d.vendor,
    device: d.device,
    maxInstances: d.max_instances ?? 0,
  }));
export type VgpuDevice = z.output<typeof vgpuDeviceSchema>;

export const vmSchema = z
  .object({
    $key: keySchema,
    name: text,
    machine: keySchema,
    description: text.optional(),
    cpu_cores: num.optional(),
    ram: num.optional(),
    is_snapshot: flag.optional(),
    status: z.string().nullish(),
    running: flag.optional(),
    need_restart: flag.optional(),
    cluster: optionalKey,
  })
  .transform((v) => ({
    key: v.$key,
    name: v.name,
    machineKey: v.machine,
    description: v.description ?? '',
    cpuCores: v.cpu_cores,
    ram: v.ram,
    status: v.status ?? undefined,
    running: v.running ?? false,
    /** A CPU/RAM change waits for the next power cycle ("Restart Needed" in VergeOS). */
    needRestart: v.need_restart ?? false,
    cluster: v.cluster,
  }));
export type Vm = z.output<typeof vmSchema>;

export const machineStatusSchema = z
  .object({ $key: keySchema, machine: keySchema, status: text, running: flag.optional() })
  .transform((s) => ({ key: s.$key, machineKey: s.machine, status: s.status, running: s.running ?? s.status === 'running' }));
export type MachineStatus = z.output<typeof machineStatusSchema>;

/** A drive's status, read through the `status#status` join; a bare status key (the raw column) is kept as text. */
const driveStatus = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) => (v === null || v === undefined ? '' : String(v)));

export const driveSchema = z
  .object({
    $key: keySchema,
    machine: keySchema,
    name: text,
    media: text,
    interface: text,
    disksize: num.optional(),
    media_source: optionalKey,
    status: driveStatus,
    preferred_tier: optionalKey,
  })
  .transform((d) => ({
    key: d.$key,
    machineKey: d.machine,
    name: d.name,
    media: d.media,
    interface: d.interface,
    disksize: d.disksize ?? 0,
    mediaSource: d.media_source,
    status: d.status,
    /** The storage tier ("1"–"5") as VergeOS stores it. */
    preferredTier: d.preferred_tier,
  }));
export type Drive = z.output<typeof driveSchema>;

/** An address VergeOS may not know yet: it sends "" (or null) until it does. */
const address = z
  .string()
  .nullish()
  .transform((v) => (v === null || v === undefined || v.trim() === '' ? undefined : v.trim()));

export const nicSchema = z
  .object({
    $key: keySchema,
    machine: keySchema,
    name: text,
    vnet: optionalKey,
    interface: text,
    enabled: flag.optional(),
    ipaddress: address,
    macaddress: address,
  })
  .transform((n) => ({
    key: n.$key,
    machineKey: n.machine,
    name: n.name,
    vnet: n.vnet,
    interface: n.interface,
    enabled: n.enabled ?? true,
    /** The static address it was given, or the one the guest got once VergeOS knows it; undefined until then. */
    ipaddress: n.ipaddress,
    macaddress: n.macaddress,
  }));
export type Nic = z.output<typeof nicSchema>;

/** A device read back: its group as VergeOS stores it (a key, number or string) and the group's uuid through the join. */
export const deviceSchema = z
  .object({
    $key: keySchema,
    machine: keySchema,
    type: text.optional(),
    resource_group: optionalKey,
    resource_group_uuid: z.string().nullish(),
    uuid: z.string().nullish(),
    name: text.optional(),
  })
  .transform((d) => ({
    key: d.$key,
    machineKey: d.machine,
    type: d.type ?? '',
    resourceGroup: d.resource_group,
    resourceGroupUuid: d.resource_group_uuid ?? undefined,
    uuid: d.uuid ?? undefined,
    name: d.name ?? '',
  }));
export type Device = z.output<typeof deviceSchema>;

/** Unix seconds as an ISO time; 0 or absent means none (a snapshot that never expires). */
const unixSeconds = z
  .union([z.number(), z.string()])
  .nullish()
  .transform((v) => {
    const seconds = Number(v ?? 0);
    return Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000).toISOString() : undefined;
  });

/** A row of `machine_snapshots`: `snap_machine` is the machine of the snapshot's hidden VM row. */
export const snapshotSchema = z
  .object({
    $key: keySchema,
    name: text,
    description: text.optional(),
    created: unixSeconds,
    expires: unixSeconds,
    quiesced: flag.optional(),
    created_manually: flag.optional(),
    machine: keySchema,
    snap_machine: optionalKey,
  })
  .transform((s) => ({
    key: s.$key,
    name: s.name,
    description: s.description ?? '',
    /** ISO; the epoch when VergeOS sent none. */
    createdAt: s.created ?? new Date(0).toISOString(),
    /** ISO; undefined when it never expires (`expires` 0). */
    expiresAt: s.expires,
    machineKey: s.machine,
    snapMachineKey: s.snap_machine,
    quiesced: s.quiesced ?? false,
    manual: s.created_manually ?? false,
  }));
export type Snapshot = z.output<typeof snapshotSchema>;

/** A snapshot's hidden VM row, found by its machine (`is_snapshot` tells it from a live VM). */
export const snapshotVmRowSchema = z.object({ $key: keySchema, name: text, machine: keySchema, is_snapshot: flag.optional() });

/** `vm_actions` clone's answer: the new VM's keys under `response`, when VergeOS sends them. */
export const clonedSchema = z
  .object({ response: z.object({ vmkey: optionalKey, machinekey: optionalKey }).loose().nullish() })
  .loose()
  .transform((c) => ({ vmKey: c.response?.vmkey, machineKey: c.response?.machinekey }));

/** Bodies the client sends. Field names and types are VergeOS's own. */
export interface VmCreateBody {
  name: string;
  description?: string;
  cluster?: string;
  ram?: number;
  cpu_cores?: number;
  guest_agent?: 'true' | 'false';
  uefi?: 'true' | 'false';
  secure_boot?: 'true' | 'false';
  console_pass_hash?: string;
  video?: string;
  rtc_base?: string;
  os_family?: string;
  machine_type?: string;
  cloudinit_datasource?: string;
  cloudinit_files?: Array<{ name: string; contents: string }>;
}

export interface DriveCreateBody {
  machine: string;
  name?: string;
  description?: string;
  media?: string;
  interface?: string;
  disksize?: number;
  preferred_tier?: string;
  media_source?: string | number;
  show_pt?: 'true' | 'false';
}

export interface NicCreateBody {
  machine: string;
  vnet: string;
  name?: string;
  interface?: string;
  enabled?: boolean;
  /** A static address; absent, the address comes from the network. */
  ipaddress?: string;
}

export interface DeviceCreateBody {
  machine: string;
  /** Absent only in a plan made before the group's type was known; the provisioner fills it in. */
  type?: DeviceType;
  /** A uuid is sent as text, a key as a number; a TPM has none. */
  resource_group?: string | number;
  settings_args?: Record<string, unknown>;
}

/** `GET /system`: what pyVergeOS checks a connection with. */
export const systemInfoSchema = z
  .object({ $key: optionalKey, yb_version: z.string().nullish(), os_version: z.string().nullish(), cloud_name: z.string().nullish() })
  .loose()
  .transform((s) => ({ version: s.yb_version ?? undefined, osVersion: s.os_version ?? undefined, cloudName: s.cloud_name ?? undefined }));
export type SystemInfo = z.output<typeof systemInfoSchema>;

export type VmAction = 'poweron' | 'poweroff' | 'kill' | 'reset';
