/**
 * What a request form may change of a recipe and still be "that recipe": a recipe declares its
 * editable fields and bounds (`editable:`); everything else must stay as the recipe has it. The
 * policy's `recipe` condition holds only for a spec within these bounds, so a rule written for a
 * small recipe never covers whatever its form was turned into. Pure.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { VmSpec, VmSpecDraft } from './schema.js';
import { formatBytes, formatMegabytes, parseSizeToBytes } from './units.js';

const size = (what: string) =>
  z.union([z.number().positive(), z.string()]).transform((v, ctx) => {
    const bytes = typeof v === 'number' ? v : parseSizeToBytes(v);
    if (bytes === undefined || bytes <= 0) {
      ctx.addIssue({ code: 'custom', message: `${what} must be a size like 16GiB` });
      return z.NEVER;
    }
    return bytes;
  });

const range = <T extends z.ZodType<number>>(bound: T) => z.strictObject({ min: bound.optional(), max: bound.optional() });
const cores = z
  .number({ error: 'must be a whole number of cores' })
  .int({ error: 'must be a whole number of cores' })
  .positive({ error: 'must be at least 1 core' });
const count = z.number().int().nonnegative();

/** `editable:` in a recipe. Absent: only the name, the description and the lease may change. */
export const recipeEditableSchema = z.strictObject({
  /** `true`: any number; `{min, max}`: within. */
  cpu_cores: z.union([z.literal(true), range(cores)], { error: 'cpu_cores must be true (any) or { min, max } in cores' }).optional(),
  /** Sizes (`16GiB`). */
  ram: z.union([z.literal(true), range(size('ram'))], { error: 'ram must be true (any) or { min, max } sizes like 16GiB' }).optional(),
  cluster: z.boolean().optional(),
  /** The recipe's disks may be resized up to `max_size`; up to `add` more disks of at most that size. */
  disks: z.strictObject({ max_size: size('disks.max_size').optional(), add: count.optional() }).optional(),
  /** NICs' networks may change, and NICs be added or removed. */
  nics: z.boolean().optional(),
  /** Devices may be added, removed or changed (device rules still see every device). */
  devices: z.boolean().optional(),
  /** Cloud-init files may be edited. */
  cloud_init: z.boolean().optional(),
  power_on: z.boolean().optional(),
});
export type RecipeEditable = z.output<typeof recipeEditableSchema>;

export interface RecipeShape {
  id: string;
  draft: VmSpecDraft;
  editable?: RecipeEditable | undefined;
}

const within = (value: number, r: { min?: number | undefined; max?: number | undefined }) =>
  (r.min === undefined || value >= r.min) && (r.max === undefined || value <= r.max);

/**
 * Why `spec` is beyond what recipe `recipe` lets a form change (the first reason), or undefined
 * when it is within: then the recipe's rules may apply to it.
 */
export function beyondRecipe(recipe: RecipeShape, spec: VmSpec): string | undefined {
  const may = recipe.editable ?? {};
  const draft = recipe.draft;
  // The name and the description are the requester's to choose.
  const { cpu_cores, ram, cluster, cloudinit_files, cloudinit_datasource, ...fixedVm } = { ...spec.vm, name: undefined, description: undefined };
  const {
    cpu_cores: rCores,
    ram: rRam,
    cluster: rCluster,
    cloudinit_files: rFiles,
    cloudinit_datasource: rSource,
    ...recipeVm
  } = { ...draft.vm, name: undefined, description: undefined };
  if (!sameFields(fixedVm, recipeVm)) return `VM settings other than size differ from recipe ${recipe.id}`;
  if (may.cpu_cores === undefined ? cpu_cores !== rCores : may.cpu_cores !== true && !within(cpu_cores, may.cpu_cores))
    return `${cpu_cores} vCPU is beyond what recipe ${recipe.id} allows (${describe(may.cpu_cores, rCores, String)})`;
  const ramBytes = ram * 1024 * 1024;
  if (may.ram === undefined ? ram !== rRam : may.ram !== true && !within(ramBytes, may.ram))
    return `${formatMegabytes(ram)} RAM is beyond what recipe ${recipe.id} allows (${describe(may.ram, rRam === undefined ? undefined : rRam * 1024 * 1024, formatBytes)})`;
  if (!may.cluster && cluster !== rCluster) return `recipe ${recipe.id} does not let the cluster change`;
  if (!may.cloud_init && (!sameFields(cloudinit_files ?? [], rFiles ?? []) || cloudinit_datasource !== rSource))
    return `recipe ${recipe.id} does not let cloud-init change`;
  if (!may.power_on && spec.power_on !== draft.power_on) return `recipe ${recipe.id} does not let power-on change`;
  if (!may.nics && !sameFields(spec.nics, draft.nics)) return `recipe ${recipe.id} does not let NICs change`;
  // Pre-flight fills in each device's type from its group: not an edit.
  const devices = spec.devices.map((d, i) => (draft.devices[i] && draft.devices[i].type === undefined ? { ...d, type: undefined } : d));
  if (!may.devices && !sameFields(devices, draft.devices)) return `recipe ${recipe.id} does not let devices change`;
  return drivesBeyond(recipe.id, may.disks, spec.drives, draft.drives);
}

function drivesBeyond(id: string, disks: RecipeEditable['disks'], drives: VmSpec['drives'], theirs: VmSpecDraft['drives']): string | undefined {
  const maxSize = disks?.max_size;
  const sizeOk = (bytes: number | undefined, original: number | undefined) =>
    bytes === original || (disks !== undefined && (maxSize === undefined || (bytes ?? 0) <= maxSize));
  const extra = drives.length - theirs.length;
  if (extra < 0) return `recipe ${id} does not let drives be removed`;
  if (extra > (disks?.add ?? 0)) return `${drives.length} drives; recipe ${id} allows ${theirs.length + (disks?.add ?? 0)}`;
  for (const [i, drive] of drives.entries()) {
    const original = theirs[i];
    const { disksize, ...rest } = drive;
    if (!original) {
      if (drive.media !== 'disk' || !sizeOk(disksize, undefined)) return `drive ${i + 1} is beyond what recipe ${id} lets a form add`;
      continue;
    }
    const { disksize: theirSize, ...theirRest } = original;
    if (!sameFields(rest, theirRest)) return `drive ${i + 1} differs from recipe ${id} in more than its size`;
    if (!sizeOk(disksize, theirSize))
      return `drive ${i + 1} of ${formatBytes(disksize ?? 0)} is beyond what recipe ${id} allows${maxSize ? ` (at most ${formatBytes(maxSize)})` : ''}`;
  }
  return undefined;
}

/**
 * Equal as VergeOS would see them: a flag left out is off (a form sends `false`), and a cloud-init
 * file's leading `/` is not part of its name.
 */
function sameFields(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(canonical(a), canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value ?? null;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || v === false) continue;
    out[key] = key === 'name' && typeof v === 'string' && 'contents' in value ? v.replace(/^\//, '') : canonical(v);
  }
  return out;
}

function describe(
  bound: true | { min?: number | undefined; max?: number | undefined } | undefined,
  fixed: number | undefined,
  show: (n: number) => string,
): string {
  if (bound === undefined || bound === true) return fixed === undefined ? 'its own value' : `exactly ${show(fixed)}`;
  if (bound.min !== undefined && bound.max !== undefined) return `${show(bound.min)}–${show(bound.max)}`;
  return bound.min !== undefined ? `at least ${show(bound.min)}` : `at most ${show(bound.max!)}`;
}
