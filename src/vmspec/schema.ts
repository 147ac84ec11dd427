/**
 * The one VM spec: what a request asks VergeOS to build. Used by the Slack modal, recipes and the
 * CLI. Field names are VergeOS's own; sizes accept units; every rule speaks in the user's terms.
 */
import { z } from 'zod';
import {
  CLOUDINIT_DATASOURCES,
  CORES_MAX,
  CORES_MIN,
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
const flag = (what: string) =>
  z.preprocess(
    (v) => (v === 'true' ? true : v === 'false' ? false : v),
    z.boolean({ error: `${what} must be true or false` }),
  );

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
  name: z
    .string({ error: 'a cloud-init file needs a name (e.g. user-data)' })
    .min(1, { error: 'a cloud-init file needs a name (e.g. user-data)' })
    .max(128),
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

export const nicSpecSchema = z.strictObject({
  vnet: keyRef('the network (vnet)'),
  name: z.string().min(1, { error: 'a NIC name cannot be empty' }).max(128).optional(),
  interface: oneOf(NIC_INTERFACES, 'the NIC interface').default('virtio'),
  enabled: flag('enabled').default(true),
});

export const deviceSpecSchema = z.strictObject({
  resource_group: z
    .string({ error: 'the resource group must be a UUID' })
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, { error: 'the resource group must be a UUID like 1f67f07e-f653-db95-c475-01b8a2ea0ff1' }),
  settings_args: z.record(z.string(), z.unknown(), { error: 'settings_args must be a mapping' }).default({}),
});

const parts = {
  drives: z.array(driveSpecSchema, { error: 'drives must be a list' }).max(32, { error: 'at most 32 drives' }).default([]),
  nics: z.array(nicSpecSchema, { error: 'nics must be a list' }).max(16, { error: 'at most 16 NICs' }).default([]),
  devices: z.array(deviceSpecSchema, { error: 'devices must be a list' }).max(8, { error: 'at most 8 devices' }).default([]),
  power_on: flag('power on').default(false),
};

type VmFieldsOut = z.output<z.ZodObject<typeof vmShape>>;
type DriveOut = z.output<typeof driveSpecSchema>;
type NicOut = z.output<typeof nicSpecSchema>;

function isObjectPayload(payload: { value: unknown }): boolean {
  return typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value);
}

/** A field that already has its own error gets no second one from a cross-field rule. */
function isIssueAt(ctx: z.RefinementCtx, path: Array<string | number>): boolean {
  const issues = (ctx as unknown as { issues?: Array<{ path?: PropertyKey[] }> }).issues ?? [];
  return issues.some((i) => JSON.stringify(i.path) === JSON.stringify(path));
}

/** Rules that span fields. */
function crossChecks(value: { vm: Partial<VmFieldsOut>; drives: DriveOut[]; nics: NicOut[] }, ctx: z.RefinementCtx): void {
  // Runs even when fields failed (so every problem is reported at once): trust nothing here.
  const spec = {
    vm: (typeof value?.vm === 'object' && value.vm !== null ? value.vm : {}) as Partial<VmFieldsOut>,
    drives: (Array.isArray(value?.drives) ? value.drives : []).filter((d): d is DriveOut => typeof d === 'object' && d !== null),
    nics: (Array.isArray(value?.nics) ? value.nics : []).filter((n): n is NicOut => typeof n === 'object' && n !== null),
  };
  const files = Array.isArray(spec.vm.cloudinit_files) ? spec.vm.cloudinit_files.filter((f) => typeof f?.name === 'string') : [];
  if (spec.vm.secure_boot && !spec.vm.uefi) ctx.addIssue({ code: 'custom', path: ['vm', 'secure_boot'], message: 'secure boot needs UEFI: set uefi: true' });
  if (files.length && spec.vm.cloudinit_datasource === 'none') {
    ctx.addIssue({ code: 'custom', path: ['vm', 'cloudinit_datasource'], message: 'cloud-init files need a datasource (nocloud or config_drive_v2), not none' });
  }
  const seenFiles = new Set<string>();
  files.forEach((f, i) => {
    const key = f.name.replace(/^\//, '');
    if (seenFiles.has(key)) ctx.addIssue({ code: 'custom', path: ['vm', 'cloudinit_files', i, 'name'], message: `two cloud-init files are named ${key}` });
    seenFiles.add(key);
  });
  const driveNames = new Set<string>();
  spec.drives.forEach((d, i) => {
    if (d.media === 'disk' && d.disksize === undefined && !isIssueAt(ctx, ['drives', i, 'disksize'])) ctx.addIssue({ code: 'custom', path: ['drives', i, 'disksize'], message: 'a new disk needs a size (e.g. 100GiB)' });
    if ((MEDIA_WITH_SOURCE as readonly string[]).includes(d.media) && d.media_source === undefined) {
      ctx.addIssue({ code: 'custom', path: ['drives', i, 'media_source'], message: `a ${d.media} drive needs a media source (the key of an ISO or image file)` });
    }
    if (typeof d.name === 'string') {
      if (driveNames.has(d.name)) ctx.addIssue({ code: 'custom', path: ['drives', i, 'name'], message: `two drives are named ${d.name}` });
      driveNames.add(d.name);
    }
  });
  const nicNames = new Set<string>();
  spec.nics.forEach((n, i) => {
    if (typeof n.name !== 'string') return;
    if (nicNames.has(n.name)) ctx.addIssue({ code: 'custom', path: ['nics', i, 'name'], message: `two NICs are named ${n.name}` });
    nicNames.add(n.name);
  });
}

/** A complete request: the name is required. */
export const vmSpecSchema = z
  .strictObject({ vm: z.strictObject(vmShape, { error: 'vm must be a mapping of VM fields' }), ...parts })
  .superRefine(crossChecks, { when: isObjectPayload });

/** A spec that may still lack its name (recipes give it at request time). */
export const vmSpecDraftSchema = z
  .strictObject({ vm: z.strictObject({ ...vmShape, name: vmNameSchema.optional() }, { error: 'vm must be a mapping of VM fields' }).default({ cpu_cores: 1, ram: 1024 }), ...parts })
  .superRefine(crossChecks, { when: isObjectPayload });

export type VmSpec = z.output<typeof vmSpecSchema>;
export type VmSpecInput = z.input<typeof vmSpecSchema>;
export type VmSpecDraft = z.output<typeof vmSpecDraftSchema>;
export type DriveSpec = VmSpec['drives'][number];
export type NicSpec = VmSpec['nics'][number];
export type DeviceSpec = VmSpec['devices'][number];
