/** Parsing specs at the edge: either a spec, or field errors that name the field in the user's terms. */
import type { z } from 'zod';
import { vmNameSchema, vmSpecDraftSchema, vmSpecSchema, type VmSpec, type VmSpecDraft } from './schema.js';

export interface FieldError {
  /** Where, as a person would write it: `vm.ram`, `drives[1].disksize`. */
  path: string;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out || '(top level)';
}

export function fieldErrors(error: z.ZodError): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        errors.push({ path: formatPath([...issue.path, key]), message: "unknown field (field names are VergeOS's own, e.g. cpu_cores, ram, disksize)" });
    } else {
      errors.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return errors;
}

function parseWith<S extends z.ZodType>(schema: S, input: unknown): Parsed<z.output<S>> {
  const result = schema.safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, errors: fieldErrors(result.error) };
}

export const parseSpec = (input: unknown): Parsed<VmSpec> => parseWith(vmSpecSchema, input);
export const parseDraft = (input: unknown): Parsed<VmSpecDraft> => parseWith(vmSpecDraftSchema, input);

// Control characters: C0, DEL, C1, and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * A name as typed, normalized once at the edge (Slack and the CLI alike): trimmed, so the name
 * checked is the name created; control characters refused rather than stripped.
 */
export function normalizeVmName(typed: string): Parsed<string> {
  if (CONTROL.test(typed)) return { ok: false, errors: [{ path: 'vm.name', message: 'the VM name cannot contain control characters (tabs, line breaks)' }] };
  return { ok: true, value: typed.trim() };
}

/** A recipe's draft plus the name given at request time (which wins over one in the recipe). */
export function completeSpec(draft: VmSpecDraft, name?: string): Parsed<VmSpec> {
  const given = name === undefined ? undefined : normalizeVmName(name);
  if (given && !given.ok) return given;
  const chosen = given?.value ?? draft.vm.name;
  if (chosen === undefined) return { ok: false, errors: [{ path: 'vm.name', message: 'the VM name is required (give it in the recipe or with --name)' }] };
  return parseSpec({ ...draft, vm: { ...draft.vm, name: chosen } });
}

/**
 * Names for a bulk request: `web-{n}` with count 3 → web-1, web-2, web-3. Without `{n}`, a count
 * above 1 appends `-{n}`. Each name must pass the VM name rules.
 */
export function expandNames(typed: string, count: number): Parsed<string[]> {
  const normalized = normalizeVmName(typed);
  if (!normalized.ok) return normalized;
  const pattern = normalized.value;
  if (!Number.isInteger(count) || count < 1 || count > 500)
    return { ok: false, errors: [{ path: 'count', message: 'count must be a whole number from 1 to 500' }] };
  const template = pattern.includes('{n}') || count === 1 ? pattern : `${pattern}-{n}`;
  const names = Array.from({ length: count }, (_, i) => template.replaceAll('{n}', String(i + 1)));
  for (const name of names) {
    const checked = vmNameSchema.safeParse(name);
    if (!checked.success)
      return { ok: false, errors: [{ path: 'vm.name', message: `${checked.error.issues[0]?.message ?? 'invalid name'} (${JSON.stringify(name)})` }] };
  }
  if (new Set(names).size !== names.length)
    return { ok: false, errors: [{ path: 'vm.name', message: 'the name pattern gives the same name twice; put {n} in it' }] };
  return { ok: true, value: names };
}

/**
 * What a set of VMs made from one spec (a batch) cannot share: a NIC's static address would be
 * given to each of them. Said under that NIC's address field.
 */
export function batchProblems(specs: readonly VmSpec[]): FieldError[] {
  if (specs.length < 2) return [];
  return specs[0]!.nics.flatMap((nic, i) =>
    nic.ipaddress
      ? [
          {
            path: `nics[${i}].ipaddress`,
            message: `${nic.ipaddress} would be given to each of the ${specs.length} VMs; leave the address empty for a batch (VergeOS gives each its own)`,
          },
        ]
      : [],
  );
}
