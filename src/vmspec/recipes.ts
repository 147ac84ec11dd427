/**
 * Recipes: `manifests/*.yml`, a named, titled VM spec whose name may be left for request time.
 * Errors come back as `file:field: message`.
 */
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import type { VmSpecDraft } from './schema.js';
import { recipeEditableSchema, type RecipeEditable } from './recipe-bounds.js';
import { parseDuration } from './units.js';
import { fieldErrors, parseDraft, type FieldError } from './validate.js';
import { parseYamlInput, readYamlFile, type YamlProblem } from './yaml-input.js';

export interface Recipe {
  id: string;
  title: string;
  description: string;
  file: string;
  draft: VmSpecDraft;
  /** How long its VMs are kept: a default and a maximum (ms); undefined = until deleted. */
  lease?: { defaultMs?: number | undefined; maxMs?: number | undefined } | undefined;
  /** What a request form may change and still count as this recipe for the policy (see recipe-bounds). */
  editable?: RecipeEditable | undefined;
}

/** The lease a recipe's VMs get unless the requester chooses another (undefined: kept until deleted). */
export function recipeLease(recipe: Pick<Recipe, 'lease'>): { forMs: number; maxMs?: number | undefined } | undefined {
  return recipe.lease?.defaultMs ? { forMs: recipe.lease.defaultMs, maxMs: recipe.lease.maxMs } : undefined;
}

const UNTIL_DELETED = 'until deleted';
const leaseLength = z.string().transform((v, ctx) => {
  if (v.trim() === UNTIL_DELETED) return undefined;
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `must be a duration like 7d or 12h, or "${UNTIL_DELETED}"` });
    return z.NEVER;
  }
  return ms;
});

export interface RecipeError {
  file: string;
  path: string;
  message: string;
}

export function formatRecipeError(e: RecipeError): string {
  return `${e.file}:${e.path}: ${e.message}`;
}

const metaSchema = z.object({
  recipe: z
    .string({ error: 'recipe (its id) is required, e.g. recipe: web-server' })
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: 'the recipe id may only contain lower-case letters, digits and dashes' }),
  title: z.string({ error: 'title is required' }).min(1, { error: 'title is required' }).max(75, { error: 'the title can be at most 75 characters' }),
  description: z.string({ error: 'description must be text' }).max(300, { error: 'the description can be at most 300 characters' }).default(''),
  /** `lease: { default: 7d, max: 30d }`: its VMs are powered off and then deleted when the lease ends, unless extended. */
  lease: z
    .object({ default: leaseLength.optional(), max: leaseLength.optional() })
    .strict()
    .refine((l) => l.default === undefined || l.max === undefined || l.default <= l.max, { error: 'the default lease cannot be longer than the maximum' })
    .optional(),
  editable: recipeEditableSchema.optional(),
});

/** A YAML problem as a recipe error: `file:line N: message`, or `file:(file): message`. */
function yamlError(file: string, problem: YamlProblem): RecipeError {
  return { file, path: problem.line === undefined ? '(file)' : `line ${problem.line}`, message: problem.message };
}

/** Alias and nesting problems make a cloud-config unsafe to read (for the bot's mask and for cloud-init in the VM). */
const UNSAFE_USER_DATA = new Set<YamlProblem['code']>(['YAML_ALIAS_FLOOD', 'YAML_ALIAS_CYCLE', 'YAML_TOO_DEEP']);

/** A cloud-config (`#cloud-config`, as cloud-init tells one) whose aliases or nesting no reader should expand. */
function userDataErrors(draft: VmSpecDraft): FieldError[] {
  return (draft.vm.cloudinit_files ?? []).flatMap((f, i) => {
    if (!f.contents.startsWith('#cloud-config')) return [];
    const parsed = parseYamlInput(f.contents);
    if (parsed.ok || !UNSAFE_USER_DATA.has(parsed.problem.code)) return [];
    return [{ path: `vm.cloudinit_files[${i}].contents`, message: `line ${parsed.problem.line ?? '?'} of ${f.name}: ${parsed.problem.message}` }];
  });
}

export function parseRecipeText(text: string, file: string): { ok: true; recipe: Recipe } | { ok: false; errors: RecipeError[] } {
  const parsed = parseYamlInput(text);
  if (!parsed.ok) return { ok: false, errors: [yamlError(file, parsed.problem)] };
  const data = parsed.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return {
      ok: false,
      errors: [{ file, path: '(top level)', message: 'a recipe must be a mapping with recipe, title, vm, drives, nics, devices, power_on' }],
    };
  }
  const { recipe, title, description, lease, editable, ...specPart } = data as Record<string, unknown>;
  const errors: FieldError[] = [];
  const meta = metaSchema.safeParse({ recipe, title, description, lease, editable });
  if (!meta.success) errors.push(...fieldErrors(meta.error));
  const draft = parseDraft(specPart);
  if (!draft.ok) errors.push(...draft.errors);
  else errors.push(...userDataErrors(draft.value));
  if (!meta.success || !draft.ok || errors.length) return { ok: false, errors: errors.map((e) => ({ file, ...e })) };
  const leaseOf = meta.data.lease ? { defaultMs: meta.data.lease.default, maxMs: meta.data.lease.max } : undefined;
  return {
    ok: true,
    recipe: {
      id: meta.data.recipe,
      title: meta.data.title,
      description: meta.data.description,
      file,
      draft: draft.value,
      ...(leaseOf ? { lease: leaseOf } : {}),
      ...(meta.data.editable ? { editable: meta.data.editable } : {}),
    },
  };
}

export async function loadRecipeFile(file: string): Promise<{ ok: true; recipe: Recipe } | { ok: false; errors: RecipeError[] }> {
  const read = await readYamlFile(file);
  if (!read.ok) return { ok: false, errors: [yamlError(file, read.problem)] };
  return parseRecipeText(read.text, file);
}

/** The recipe files in a folder: every `*.yml`/`*.yaml` but the approval policy (`policy*.yml`). */
export async function recipeFilesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir);
  return entries
    .filter((f) => /\.ya?ml$/.test(f) && !/^policy([.-].*)?\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Every recipe in the files, plus every error; two files may not claim the same id. */
export async function loadRecipes(files: string[]): Promise<{ recipes: Recipe[]; errors: RecipeError[] }> {
  const recipes: Recipe[] = [];
  const errors: RecipeError[] = [];
  for (const file of files) {
    const loaded = await loadRecipeFile(file);
    if (!loaded.ok) {
      errors.push(...loaded.errors);
      continue;
    }
    const clash = recipes.find((r) => r.id === loaded.recipe.id);
    if (clash) errors.push({ file, path: 'recipe', message: `the id ${loaded.recipe.id} is already used by ${basename(clash.file)}` });
    else recipes.push(loaded.recipe);
  }
  return { recipes, errors };
}
