/**
 * How the simulator's VergeOS reads a recipe deployment's answers: each question's answer or its
 * default, checked by its stored type (gov's recipe_answers.go: bounds on numbers and on string
 * lengths, max 0 unbounded, regex over the whole answer, list keys, live networks and clusters,
 * rows of a table; an unrecognised bool string is false; disksize 0 is the image's own size).
 * Problems are sentences that never quote a text answer, so a password cannot reach a log.
 */
import { isIP } from 'node:net';
import type { Row } from './query.js';
import { SimHttpError, TABLES, type TableName } from './schema.js';
import type { SimState } from './state.js';
import { text } from '../text.js';

const ALIASES: Record<string, string> = { boolean: 'bool', number: 'num', disk_size: 'disksize', text_area: 'textarea', row_selection: 'row' };
const NUMERIC = new Set(['num', 'ram', 'disksize', 'seconds']);
const TEXTUAL = new Set(['string', 'hostname', 'textarea', 'password']);
/** The literal a network answer gives for "make a new internal network". */
export const NEW_INTERNAL_NETWORK = '__new_internal__';

export interface ResolvedAnswers {
  recipe: Row;
  /** Every answer as VergeOS would use it (defaults applied, types coerced). */
  answers: Row;
  /** Names of answers VergeOS does not keep (`dont_store`). */
  notStored: Set<string>;
  problems: string[];
  warnings: string[];
}

/** The recipe a deployment names, refused as VergeOS would (missing, unknown, not downloaded). */
export function recipeOf(world: SimState, body: Row): Row {
  if (body.recipe === undefined || body.recipe === null || body.recipe === '') throw new SimHttpError(400, "Missing required field 'recipe'");
  const recipe = world.table('vm_recipes').get(text(body.recipe));
  if (!recipe) throw new SimHttpError(404, `VM recipe '${text(body.recipe)}' not found`);
  if (recipe.downloaded !== true) throw new SimHttpError(422, `VM recipe '${String(recipe.name)}' has not been downloaded`);
  return recipe;
}

/** A recipe's questions in order. */
export function questionsOf(world: SimState, recipeKey: string): Row[] {
  const ref = `vm_recipes/${recipeKey}`;
  return [...world.table('recipe_questions').values()].filter((q) => q.recipe === ref).sort((a, b) => Number(a.orderid) - Number(b.orderid));
}

export function resolveAnswers(world: SimState, body: Row): ResolvedAnswers {
  const recipe = recipeOf(world, body);
  if (typeof body.name !== 'string' || body.name.trim() === '') throw new SimHttpError(400, "Missing required field 'name'");
  const given = body.answers ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new SimHttpError(400, "Invalid value for 'answers': expected an object");
  const answersIn = given as Row;
  const out: ResolvedAnswers = { recipe, answers: {}, notStored: new Set(), problems: [], warnings: [] };
  const questions = questionsOf(world, String(recipe.$key));
  const known = new Set(questions.map((q) => String(q.name)));
  for (const name of Object.keys(answersIn))
    if (!known.has(name)) out.warnings.push(`Warning: answer '${name}' matches no question of this recipe and was ignored`);
  for (const q of questions) {
    const type = ALIASES[String(q.type)] ?? String(q.type);
    if (type.startsWith('database_') || type === 'field' || q.enabled === false) continue;
    const name = String(q.name);
    if (q.dont_store === true) out.notStored.add(name);
    const raw = answersIn[name];
    const value = isBlank(raw) ? q.default : raw;
    if (isBlank(value)) {
      if (q.required === true) out.problems.push(`${label(q)} is required`);
      continue;
    }
    const checked = checkAnswer(world, q, type, value);
    if (checked instanceof Problem) out.problems.push(`${label(q)} ${checked.sentence}`);
    else out.answers[name] = checked;
  }
  crossChecks(out);
  return out;
}

function crossChecks(out: ResolvedAnswers): void {
  const a = out.answers;
  if (a.YB_IP_ADDR_TYPE === 'static') {
    if (isBlank(a.YB_IP_ADDR)) out.problems.push("Question 'YB_IP_ADDR' (Static address) is required for a static address");
    else if (isIP(text(a.YB_IP_ADDR)) !== 4) out.problems.push("Question 'YB_IP_ADDR' (Static address) is not an IPv4 address");
  }
}

function checkAnswer(world: SimState, q: Row, type: string, value: unknown): unknown {
  const min = bound(q.min);
  const maxRaw = bound(q.max);
  const max = maxRaw === 0 ? undefined : maxRaw;
  if (type === 'bool') return value === true || value === 'true' || value === 1 || value === '1';
  if (NUMERIC.has(type)) {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (!Number.isFinite(n) || !Number.isInteger(n)) return new Problem('must be a whole number');
    if (type === 'disksize' && n === 0) return 0;
    if (n < 0) return new Problem('must not be negative');
    if (min !== undefined && n < min) return new Problem(`must be at least ${min}`);
    if (max !== undefined && n > max) return new Problem(`must be at most ${max}`);
    return n;
  }
  if (TEXTUAL.has(type)) {
    if (typeof value !== 'string' && typeof value !== 'number') return new Problem('must be text');
    const s = String(value);
    if (min !== undefined && s.length < min) return new Problem(`must be at least ${min} characters long`);
    if (max !== undefined && s.length > max) return new Problem(`must be at most ${max} characters long`);
    const regex = text(q.regex);
    if (regex !== '' && !new RegExp(`^(?:${regex})$`).test(s)) return new Problem(`does not match the pattern ${regex}`);
    return s;
  }
  if (type === 'list') {
    const choices = listOf(q.list);
    const key = text(value);
    if (!choices || !(key in choices)) return new Problem(`must be one of ${Object.keys(choices ?? {}).join(', ')}`);
    return key;
  }
  if (type === 'network') {
    if (value === NEW_INTERNAL_NETWORK) return value;
    const vnet = world.table('vnets').get(text(value));
    if (!vnet) return new Problem(`names no network (${text(value)})`);
    if (vnet.enabled === false) return new Problem(`names a disabled network (${String(vnet.name)})`);
    return Number(vnet.$key);
  }
  if (type === 'cluster') {
    const cluster = world.table('clusters').get(text(value));
    if (!cluster) return new Problem(`names no cluster (${text(value)})`);
    if (cluster.enabled === false) return new Problem(`names a disabled cluster (${String(cluster.name)})`);
    return Number(cluster.$key);
  }
  if (type === 'row') {
    const table = text(q.table);
    if (!(TABLES as readonly string[]).includes(table)) return new Problem(`reads a table the platform does not have (${table})`);
    const row = world.table(table as TableName).get(text(value));
    if (!row) return new Problem(`names no row of ${table} (${text(value)})`);
    return Number(row.$key);
  }
  // hidden and the rest: taken as given.
  return value;
}

/** Why an answer was refused (a class, so no answer value is ever mistaken for one). */
class Problem {
  constructor(readonly sentence: string) {}
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

function label(q: Row): string {
  const display = text(q.display);
  return display ? `Question '${String(q.name)}' (${display})` : `Question '${String(q.name)}'`;
}

function bound(value: unknown): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function listOf(value: unknown): Record<string, unknown> | undefined {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v) as unknown;
    } catch {
      return undefined;
    }
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
