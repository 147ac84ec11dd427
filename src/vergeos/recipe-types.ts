/**
 * VergeOS's own VM recipes as its API sends them (`vm_recipes`, `recipe_sections`,
 * `recipe_questions`, `vm_recipe_instances`, a simulation's report), parsed at the edge into the
 * shapes the bot works with. Field meanings follow its clients (gov's recipe types and
 * recipe_answers.go, pyVergeOS's recipe_common.py): `min`/`max` arrive as numbers, numeric strings,
 * null or "" (max 0: no upper bound), `list` as an object or a JSON string of one.
 */
import { z } from 'zod';
import { flag, keySchema, text } from './types.js';

/** A bound: a number, a numeric string, null or "" (none). */
const bound = z
  .union([z.number(), z.string()])
  .nullish()
  .transform((v) => {
    if (v === null || v === undefined || v === '') return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  });
/** `{value: label}`, sent as an object or as a JSON string of one; anything else: none. */
const choices = z.unknown().transform((v): Record<string, string> | undefined => {
  let value = v;
  if (typeof value === 'string') {
    if (value.trim() === '') return undefined;
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.fromEntries(Object.entries(value).map(([k, label]) => [k, typeof label === 'string' ? label : JSON.stringify(label)]));
});

/** Question types as VergeOS stores them; gov's UI aliases are read as these. */
export const QUESTION_TYPES = [
  'bool',
  'num',
  'ram',
  'disksize',
  'seconds',
  'string',
  'hostname',
  'textarea',
  'password',
  'network',
  'list',
  'row',
  'cluster',
] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];
/** Plumbing questions the platform answers itself: never shown. */
export const INTERNAL_QUESTION_TYPES = ['hidden', 'database_create', 'database_edit', 'database_find', 'field'] as const;
const ALIASES: Record<string, string> = { boolean: 'bool', number: 'num', disk_size: 'disksize', text_area: 'textarea', row_selection: 'row' };

export const vmRecipeSchema = z
  .object({
    $key: keySchema,
    id: z.string().nullish(),
    name: text,
    description: text,
    version: text,
    build: z.union([z.string(), z.number()]).nullish(),
    catalog: z.union([z.string(), z.number()]).nullish(),
    catalog_name: text,
    downloaded: flag,
    update_available: flag,
    instances: z.coerce.number().catch(0).optional(),
  })
  .transform((r) => ({
    /** The recipe's 40-hex key (its `id`). */
    key: r.$key,
    name: r.name,
    description: r.description,
    version: r.version,
    build: r.build === null || r.build === undefined ? '' : String(r.build),
    catalogKey: r.catalog === null || r.catalog === undefined ? '' : String(r.catalog),
    catalog: r.catalog_name,
    downloaded: r.downloaded,
    updateAvailable: r.update_available,
    /** Deployments made from it (`count(instances)`). */
    instanceCount: r.instances ?? 0,
  }));
export type VmRecipe = z.output<typeof vmRecipeSchema>;

export const recipeSectionSchema = z
  .object({ $key: keySchema, recipe: text, name: text, description: text, orderid: z.coerce.number().catch(0) })
  .transform((s) => ({ key: s.$key, name: s.name, description: s.description, order: s.orderid }));
export type RecipeSection = z.output<typeof recipeSectionSchema>;

export const recipeQuestionSchema = z
  .object({
    $key: keySchema,
    section: z.union([z.string(), z.number()]).nullish(),
    section_name: text,
    name: z.string().min(1),
    display: text,
    hint: text,
    help: text,
    note: text,
    type: z.string().min(1),
    default: z.unknown().optional(),
    required: flag,
    enabled: z.union([z.boolean(), z.string(), z.number()]).nullish(),
    readonly: flag,
    orderid: z.coerce.number().catch(0),
    min: bound,
    max: bound,
    regex: text,
    list: choices.optional(),
    table: text,
    fields: text,
    filter: text,
    hide_none: flag,
    dont_store: flag,
  })
  .transform((q) => ({
    key: q.$key,
    /** The answer's key in `answers` (e.g. YB_RAM). */
    name: q.name,
    /** The label people see (the name when VergeOS gives none). */
    label: q.display || q.name,
    hint: q.hint,
    help: q.help || q.note,
    type: ALIASES[q.type] ?? q.type,
    sectionKey: q.section === null || q.section === undefined ? undefined : String(q.section),
    section: q.section_name,
    default: q.default ?? undefined,
    required: q.required,
    /** Absent means enabled. */
    enabled: q.enabled === null || q.enabled === undefined ? true : q.enabled === true || q.enabled === 'true' || q.enabled === 1 || q.enabled === '1',
    readonly: q.readonly,
    order: q.orderid,
    min: q.min,
    /** 0 means no upper bound. */
    max: q.max === 0 ? undefined : q.max,
    regex: q.regex || undefined,
    choices: q.list,
    table: q.table || undefined,
    /** A `row` question's columns to show and the filter over its table (VergeOS's own syntax). */
    tableFields: q.fields || undefined,
    tableFilter: q.filter || undefined,
    /** A `row` question offers no "none" choice. */
    hideNone: q.hide_none,
    /** VergeOS does not keep the answer (often a password); it is still sent at deploy. */
    dontStore: q.dont_store,
  }));
export type RecipeQuestion = z.output<typeof recipeQuestionSchema>;

/** Whether a question is one people answer (shown in the form) rather than the platform's plumbing. */
export function isAskedQuestion(question: Pick<RecipeQuestion, 'type' | 'enabled' | 'section'>): boolean {
  return question.enabled && question.section !== '$database' && (QUESTION_TYPES as readonly string[]).includes(question.type);
}

/** A simulation's report: `405 {"err":"Simulation complete","response":{cloudinit_files, logs, answers}}`. */
export const simulationReportSchema = z
  .object({
    cloudinit_files: z.array(z.object({ name: text, contents: text })).nullish(),
    logs: z.array(z.union([z.string(), z.record(z.string(), z.unknown())])).nullish(),
    answers: z.record(z.string(), z.unknown()).nullish(),
  })
  .transform((r) => ({
    cloudInitFiles: (r.cloudinit_files ?? []).map((f) => ({ name: f.name, contents: f.contents })),
    logs: (r.logs ?? []).map((l) => (typeof l === 'string' ? l : JSON.stringify(l))),
    /** The answers as VergeOS resolved them (defaults applied); the keys in it are predictions. */
    answers: r.answers ?? {},
  }));
export type SimulationReport = z.output<typeof simulationReportSchema>;

/** Log lines that mean the simulation failed (gov). */
export function simulationFailed(report: SimulationReport): string | undefined {
  return report.logs.find((line) => /Error executing (API command|recipe)/i.test(line));
}

export const recipeInstanceSchema = z
  .object({
    $key: keySchema,
    recipe: text,
    recipe_name: text,
    vm: z.union([z.string(), z.number()]).nullish(),
    vm_name: text,
    name: text,
    version: text,
    build: z.union([z.string(), z.number()]).nullish(),
    auto_update: flag,
    /** Microseconds (gov). */
    created: z.coerce.number().catch(0).optional(),
  })
  .transform((i) => ({
    key: i.$key,
    recipeKey: i.recipe,
    recipe: i.recipe_name,
    /** The VM VergeOS made for it, once it has (a VM key). */
    vmKey: i.vm === null || i.vm === undefined || i.vm === '' || i.vm === 0 ? undefined : String(i.vm),
    vmName: i.vm_name,
    name: i.name,
    version: i.version,
    build: i.build === null || i.build === undefined ? '' : String(i.build),
    autoUpdate: i.auto_update,
    /** When VergeOS made it (epoch ms), if it said. */
    createdAt: i.created ? Math.floor(i.created / 1000) : undefined,
  }));
export type RecipeInstance = z.output<typeof recipeInstanceSchema>;
