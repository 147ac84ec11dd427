/**
 * The one VM spec: what a request asks VergeOS to build. Used by the Slack modal, recipes and the
 * CLI. Field names are VergeOS's own; sizes accept units; every rule speaks in the user's terms.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import {
  CLOUDINIT_DATASOURCES,
  CORES_MAX,
  CORES_MIN,
  DEVICE_COUNT_MAX,
  DEVICE_TYPES,
  DRIVE_INTERFACES,
  DRIVE_MEDIA,
  MAX_CLOUDINIT_FILE_BYTES,
  MEDIA_WITH_SOURCE,
  NIC_INTERFACES,
  OS_FAMILIES,
  RAM_MAX_MB,
  RAM_MIN_MB,
  RAM_STEP_MB,
  RTC_BASES,
  STORAGE_TIERS,
  VGPU_DEVICE_TYPE,
  VIDEO_TYPES,
} from '../vergeos/enums.js';
import { MIB, parseSizeToBytes, TIB } from './units.js';

/**
 * VM names: 1–128 characters, starting with a letter or digit, then letters, digits, spaces,
 * dots, dashes and underscores. A safe subset of what VergeOS's UI takes: no quotes or slashes,
 * which VergeOS's filter syntax escapes differently from release to release.
 */
export const VM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/;
export const VM_NAME_MAX = 128;
const NAME_RULE = 'letters, digits, spaces, dots, dashes and underscores, starting with a letter or digit';

export const vmNameSchema = z
  .string({ error: 'the VM name must be text' })
  .trim()
  .min(1, { error: 'the VM name is required' })
  .max(VM_NAME_MAX, { error: `the VM name can be at most ${VM_NAME_MAX} characters` })
  .regex(VM_NAME_PATTERN, { error: `the VM name may only contain ${NAME_RULE}` });

const oneOf = <T extends readonly [string, ...string[]]>(values: T, what: string) =>
  z.enum(values, { error: (issue) => `${what} must be one of ${values.join(', ')} (got ${JSON.stringify(issue.input)})` });

/** true/false, or VergeOS's "true"/"false" strings. */
const flag = (what: string) => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean({ error: `${what} must be true or false` }));

/** A VergeOS key: a number or a numeric string, kept as a string. */
const keyRef = (what: string) =>
  z
    .union([z.number(), z.string()], { error: `${what} must be a key (a number such as 3)` })
    .transform((v) => String(v).trim())
    .refine((v) => /^\d+$/.test(v), { error: `${what} must be a key (a number such as 3)` });

function size(what: string, apiUnit: 'MB' | 'bytes', example: string) {
  return z.union([z.number(), z.string()], { error: `${what} must be a number of ${apiUnit} or a size like ${example}` }).transform((value, ctx) => {
    let result: number | undefined;
    if (typeof value === 'number') result = value;
    else {
      const bytes = parseSizeToBytes(value);
      if (bytes !== undefined) result = apiUnit === 'MB' ? bytes / MIB : bytes;
      else if (/^\s*\d+\s*$/.test(value)) result = Number(value);
    }
    if (result === undefined || !Number.isFinite(result) || result <= 0) {
      ctx.addIssue({ code: 'custom', message: `${what} must be a number of ${apiUnit} or a size like ${example} (got ${JSON.stringify(value)})` });
      return z.NEVER;
    }
    return result;
  });
}

const ramSchema = size('RAM', 'MB', '8GiB')
  .refine((mb) => mb >= RAM_MIN_MB && mb <= RAM_MAX_MB, { error: 'RAM must be between 256 MiB and 1 TiB' })
  .transform((mb) => Math.ceil(mb / RAM_STEP_MB) * RAM_STEP_MB);

const diskSizeSchema = size('the disk size', 'bytes', '100GiB')
  .refine((b) => b >= MIB, { error: 'the disk size must be at least 1 MiB' })
  .refine((b) => b <= 64 * TIB, { error: 'the disk size can be at most 64 TiB' })
  .transform((b) => Math.ceil(b));

export const cloudInitFileSchema = z.strictObject({
  name: z.string({ error: 'a cloud-init file needs a name (e.g. user-data)' }).min(1, { error: 'a cloud-init file needs a name (e.g. user-data)' }).max(128),
  contents: z
    .string({ error: 'cloud-init contents must be text' })
    .refine((c) => Buffer.byteLength(c) <= MAX_CLOUDINIT_FILE_BYTES, { error: 'a cloud-init file can be at most 64 KB' }),
});

const vmShape = {
  name: vmNameSchema,
  description: z.string({ error: 'the description must be text' }).max(2048, { error: 'the description can be at most 2048 characters' }).optional(),
  cluster: keyRef('the cluster').optional(),
  cpu_cores: z
    .number({ error: `CPU cores must be a whole number from ${CORES_MIN} to ${CORES_MAX}` })
    .int({ error: 'CPU cores must be a whole number' })
    .min(CORES_MIN, { error: `CPU cores must be at least ${CORES_MIN}` })
    .max(CORES_MAX, { error: `CPU cores can be at most ${CORES_MAX}` })
    .default(1),
  ram: ramSchema.default(1024),
  guest_agent: flag('guest agent').optional(),
  uefi: flag('UEFI').optional(),
  secure_boot: flag('secure boot').optional(),
  video: oneOf(VIDEO_TYPES, 'the video adapter').optional(),
  rtc_base: oneOf(RTC_BASES, 'the clock (rtc_base)').optional(),
  os_family: oneOf(OS_FAMILIES, 'the OS family').optional(),
  machine_type: z
    .string()
    .regex(/^(pc|q35|pc-q35-[\d.]+|pc-i440fx-[\d.]+)$/, { error: 'the machine type must look like pc-q35-9.0, pc-i440fx-8.2, q35 or pc' })
    .optional(),
  /** A secret: never rendered, logged or audited. */
  console_pass_hash: z.string({ error: 'the console password hash must be text' }).optional(),
  cloudinit_datasource: oneOf(CLOUDINIT_DATASOURCES, 'the cloud-init datasource').optional(),
  cloudinit_files: z.array(cloudInitFileSchema, { error: 'cloud-init files must be a list' }).max(8, { error: 'at most 8 cloud-init files' }).optional(),
};

/** A VM's size alone (cores and RAM, RAM rounded up to 256 MB): what a resize asks for. */
export const vmSizeSchema = z.strictObject({ cpu_cores: vmShape.cpu_cores, ram: vmShape.ram });

export const driveSpecSchema = z.strictObject({
  name: z.string().min(1, { error: 'a drive name cannot be empty' }).max(128).optional(),
  description: z.string().max(2048).optional(),
  media: oneOf(DRIVE_MEDIA, 'the drive media').default('disk'),
  interface: oneOf(DRIVE_INTERFACES, 'the drive interface').default('virtio-scsi'),
  disksize: diskSizeSchema.optional(),
  preferred_tier: z
    .union([z.number(), z.string()])
    .transform((v) => String(v))
    .pipe(oneOf(STORAGE_TIERS, 'the storage tier'))
    .optional(),
  media_source: keyRef('the media source').optional(),
  show_pt: flag('override preferred tier (show_pt)').optional(),
});

/** A static address for a NIC: one IPv4 or IPv6 address, as VergeOS's `machine_nics.ipaddress` holds it. */
export const ipAddressSchema = z
  .string({ error: 'the IP address must be text, such as 10.0.0.5' })
  .trim()
  .superRefine((value, ctx) => {
    if (isIP(value) !== 0) return;
    // A prefix length is the network's, not the NIC's: say so rather than just "not an address".
    const hint =
      /^[^/]+\/\d+$/.test(value) && isIP(value.split('/')[0]!) !== 0 ? ': give the address alone, without the prefix length' : ' (IPv4 like 10.0.0.5, or IPv6)';
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not an IP address${hint}` });
  });

export const nicSpecSchema = z.strictObject({
  vnet: keyRef('the network (vnet)'),
  name: z.string().min(1, { error: 'a NIC name cannot be empty' }).max(128).optional(),
  interface: oneOf(NIC_INTERFACES, 'the NIC interface').default('virtio'),
  enabled: flag('enabled').default(true),
  /** A static address; without one the VM gets its address from the network (DHCP), which VergeOS reports once it knows it. */
  ipaddress: ipAddressSchema.optional(),
});

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GROUP_RULE = 'the resource group must be its UUID (like 1f67f07e-f653-db95-c475-01b8a2ea0ff1) or its key (a number such as 3)';

/** A resource group by UUID (what the seed page shows) or by key (what pyVergeOS sends): both are accepted and sent as given. */
export const resourceGroupRefSchema = z
  .union([z.number(), z.string()], { error: GROUP_RULE })
  .transform((v) => String(v).trim())
  .refine((v) => UUID_PATTERN.test(v) || /^\d+$/.test(v), { error: GROUP_RULE });

export const deviceSpecSchema = z.strictObject({
  /** VergeOS's device type; when only a resource group is named, it comes from the group's own type. */
  type: oneOf(DEVICE_TYPES, 'the device type').optional(),
  resource_group: resourceGroupRefSchema.optional(),
  count: z
    .number({ error: `count must be a whole number from 1 to ${DEVICE_COUNT_MAX}` })
    .int({ error: 'count must be a whole number' })
    .min(1, { error: 'count must be at least 1' })
    .max(DEVICE_COUNT_MAX, { error: `count can be at most ${DEVICE_COUNT_MAX}` })
    .default(1),
  settings_args: z.record(z.string(), z.unknown(), { error: 'settings_args must be a mapping' }).default({}),
});

/** vGPU settings VergeOS knows (pyVergeOS's `create_vgpu`), with the kind of value each takes. */
export const VGPU_SETTINGS = {
  frame_rate_limiter: 'a whole number of frames per second (0 turns the limiter off)',
  profile_type: 'text (a vGPU profile type, e.g. any)',
  attach_drivers: 'true or false',
  disable_vnc: 'true or false',
  enable_uvm: 'true or false',
  enable_debugging: 'true or false',
  enable_profiling: 'true or false',
} as const;

function vgpuSettingProblem(key: string, value: unknown): string | undefined {
  if (!(key in VGPU_SETTINGS)) return undefined; // other settings pass through: releases add some
  if (key === 'frame_rate_limiter') return Number.isInteger(value) && (value as number) >= 0 ? undefined : VGPU_SETTINGS.frame_rate_limiter;
  if (key === 'profile_type') return typeof value === 'string' && value !== '' ? undefined : VGPU_SETTINGS.profile_type;
  return typeof value === 'boolean' ? undefined : 'true or false';
}

const parts = {
  drives: z.array(driveSpecSchema, { error: 'drives must be a list' }).max(32, { error: 'at most 32 drives' }).default([]),
  nics: z.array(nicSpecSchema, { error: 'nics must be a list' }).max(16, { error: 'at most 16 NICs' }).default([]),
  devices: z.array(deviceSpecSchema, { error: 'devices must be a list' }).max(8, { error: 'at most 8 devices' }).default([]),
  power_on: flag('power on').default(false),
};

type VmFieldsOut = z.output<z.ZodObject<typeof vmShape>>;
type DriveOut = z.output<typeof driveSpecSchema>;
type NicOut = z.output<typeof nicSpecSchema>;
type DeviceOut = z.output<typeof deviceSpecSchema>;

function isObjectPayload(payload: { value: unknown }): boolean {
  return typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value);
}

/** A field that already has its own error gets no second one from a cross-field rule. */
function isIssueAt(ctx: z.RefinementCtx, path: Array<string | number>): boolean {
  const issues = (ctx as unknown as { issues?: Array<{ path?: PropertyKey[] }> }).issues ?? [];
  return issues.some((i) => JSON.stringify(i.path) === JSON.stringify(path));
}

/** Rules that span fields. */
function crossChecks(value: { vm: Partial<VmFieldsOut>; drives: DriveOut[]; nics: NicOut[]; devices: DeviceOut[] }, ctx: z.RefinementCtx): void {
  // Runs even when fields failed (so every problem is reported at once): trust nothing here.
  const spec = {
    vm: typeof value?.vm === 'object' && value.vm !== null ? value.vm : {},
    drives: (Array.isArray(value?.drives) ? value.drives : []).filter((d): d is DriveOut => typeof d === 'object' && d !== null),
    nics: (Array.isArray(value?.nics) ? value.nics : []).filter((n): n is NicOut => typeof n === 'object' && n !== null),
    devices: (Array.isArray(value?.devices) ? value.devices : []).filter((d): d is DeviceOut => typeof d === 'object' && d !== null),
  };
  const files = Array.isArray(spec.vm.cloudinit_files) ? spec.vm.cloudinit_files.filter((f) => typeof f?.name === 'string') : [];
  if (spec.vm.secure_boot && !spec.vm.uefi) ctx.addIssue({ code: 'custom', path: ['vm', 'secure_boot'], message: 'secure boot needs UEFI: set uefi: true' });
  if (files.length && spec.vm.cloudinit_datasource === 'none') {
    ctx.addIssue({
      code: 'custom',
      path: ['vm', 'cloudinit_datasource'],
      message: 'cloud-init files need a datasource (nocloud or config_drive_v2), not none',
    });
  }
  const seenFiles = new Set<string>();
  files.forEach((f, i) => {
    const key = f.name.replace(/^\//, '');
    if (seenFiles.has(key)) ctx.addIssue({ code: 'custom', path: ['vm', 'cloudinit_files', i, 'name'], message: `two cloud-init files are named ${key}` });
    seenFiles.add(key);
  });
  const driveNames = new Set<string>();
  let efiDisks = 0;
  spec.drives.forEach((d, i) => {
    if (d.media === 'efidisk') efiDisksCheck(d, i, ++efiDisks, spec.vm.uefi === true, ctx);
    if (d.media === 'disk' && d.disksize === undefined && !isIssueAt(ctx, ['drives', i, 'disksize']))
      ctx.addIssue({ code: 'custom', path: ['drives', i, 'disksize'], message: 'a new disk needs a size (e.g. 100GiB)' });
    if ((MEDIA_WITH_SOURCE as readonly string[]).includes(d.media) && d.media_source === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['drives', i, 'media_source'],
        message: `a ${d.media} drive needs a media source (the key of an ISO or image file)`,
      });
    }
    if (typeof d.name === 'string') {
      if (driveNames.has(d.name)) ctx.addIssue({ code: 'custom', path: ['drives', i, 'name'], message: `two drives are named ${d.name}` });
      driveNames.add(d.name);
    }
  });
  deviceChecks(spec.devices, ctx);
  const nicNames = new Set<string>();
  const nicAddresses = new Set<string>();
  spec.nics.forEach((n, i) => {
    if (typeof n.ipaddress === 'string') {
      if (nicAddresses.has(n.ipaddress))
        ctx.addIssue({ code: 'custom', path: ['nics', i, 'ipaddress'], message: `two NICs are given the address ${n.ipaddress}` });
      nicAddresses.add(n.ipaddress);
    }
    if (typeof n.name !== 'string') return;
    if (nicNames.has(n.name)) ctx.addIssue({ code: 'custom', path: ['nics', i, 'name'], message: `two NICs are named ${n.name}` });
    nicNames.add(n.name);
  });
}

/**
 * An EFI disk holds the VM's UEFI variables. VergeOS creates it with the OVMF layout only when no
 * size is given (pyVergeOS, verified on 26.1.8): a sized one is a plain volume the VM cannot keep
 * its UEFI settings on.
 */
function efiDisksCheck(d: DriveOut, i: number, nth: number, uefi: boolean, ctx: z.RefinementCtx): void {
  if (d.disksize !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['drives', i, 'disksize'],
      message:
        'an EFI disk takes no size: VergeOS sizes it for the UEFI variable store itself, and a sized one is a plain volume the VM cannot keep UEFI settings on; remove disksize',
    });
  if (d.media_source !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['drives', i, 'media_source'],
      message: 'an EFI disk takes no media source: VergeOS creates it empty; remove media_source',
    });
  if (!uefi) ctx.addIssue({ code: 'custom', path: ['drives', i, 'media'], message: 'an EFI disk is for UEFI VMs: set uefi: true, or remove the EFI disk' });
  if (nth > 1) ctx.addIssue({ code: 'custom', path: ['drives', i, 'media'], message: 'a VM has at most one EFI disk' });
}

/** A TPM is virtual (no resource group); every other device comes from a resource group. */
function deviceChecks(devices: DeviceOut[], ctx: z.RefinementCtx): void {
  let tpms = 0;
  devices.forEach((d, i) => {
    if (d.type === 'tpm') {
      tpms += d.count ?? 1;
      if (d.resource_group !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, 'resource_group'],
          message: 'a TPM is virtual and takes no resource group; remove resource_group',
        });
      if (tpms > 1) ctx.addIssue({ code: 'custom', path: ['devices', i, (d.count ?? 1) > 1 ? 'count' : 'type'], message: 'a VM has at most one TPM' });
    } else if (d.resource_group === undefined && !isIssueAt(ctx, ['devices', i, 'resource_group'])) {
      const what = d.type ? `a ${d.type} device` : 'a GPU, PCI, USB or SR-IOV device';
      ctx.addIssue({
        code: 'custom',
        path: ['devices', i, 'resource_group'],
        message: `${what} needs a resource group (its UUID or key)${d.type ? '' : ', or give type: tpm for a virtual TPM'}`,
      });
    }
    if (d.type === VGPU_DEVICE_TYPE && typeof d.settings_args === 'object' && d.settings_args !== null) {
      for (const [key, value] of Object.entries(d.settings_args)) {
        const wanted = vgpuSettingProblem(key, value);
        if (wanted)
          ctx.addIssue({ code: 'custom', path: ['devices', i, 'settings_args', key], message: `${key} must be ${wanted} (got ${JSON.stringify(value)})` });
      }
    }
  });
}

/** A complete request: the name is required. */
export const vmSpecSchema = z
  .strictObject({ vm: z.strictObject(vmShape, { error: 'vm must be a mapping of VM fields' }), ...parts })
  .superRefine(crossChecks, { when: isObjectPayload });

/** A spec that may still lack its name (recipes give it at request time). */
export const vmSpecDraftSchema = z
  .strictObject({
    vm: z.strictObject({ ...vmShape, name: vmNameSchema.optional() }, { error: 'vm must be a mapping of VM fields' }).default({ cpu_cores: 1, ram: 1024 }),
    ...parts,
  })
  .superRefine(crossChecks, { when: isObjectPayload });

export type VmSpec = z.output<typeof vmSpecSchema>;
export type VmSpecInput = z.input<typeof vmSpecSchema>;
export type VmSpecDraft = z.output<typeof vmSpecDraftSchema>;
export type DriveSpec = VmSpec['drives'][number];
export type NicSpec = VmSpec['nics'][number];
export type DeviceSpec = VmSpec['devices'][number];
