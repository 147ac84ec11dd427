/**
 * What a requester gave for a VergeOS recipe (a form's strings, or YAML's numbers, strings and
 * booleans), checked against the recipe's questions and read into the API's units: RAM in MB, disk
 * sizes in bytes, seconds and numbers as integers, booleans as JSON booleans, keys as integers.
 * Every problem is returned at once, each naming its question and saying in the question's own
 * label what is wrong; a secret's value never appears in one.
 *
 * Unanswered optional questions are left out: the platform applies their defaults itself. The
 * caller merges a wrapping YAML recipe's fixed answers into `given` first.
 */
import { CodedError, EXIT } from '../errors.js';
import { isAskedQuestion, type RecipeQuestion, type RecipeSection } from '../vergeos/recipe-types.js';
import {
  bytesText,
  DISK_SIZE_MIN_BYTES,
  NEW_INTERNAL_NETWORK,
  quoted,
  ramText,
  readBool,
  readDiskBytes,
  readKey,
  readRamMb,
  readSeconds,
  readText,
  readWhole,
  secondsText,
  wholeNumber,
  type Converted,
  type RecipeAnswerValue,
} from './convert.js';
import { defaultIsEmpty, inFormOrder, isSecretQuestion } from './fields.js';
import { compileWholeMatch } from './question-regex.js';

export interface AnswerError {
  /** The question's `name` (or the unknown key given). */
  question: string;
  message: string;
}

export type CheckedAnswers =
  { ok: true; answers: Record<string, RecipeAnswerValue>; warnings: string[] } | { ok: false; errors: AnswerError[]; warnings: string[] };

export interface CheckAnswersOptions {
  /** The recipe's sections, so errors and answers come in the form's order (else by `orderid`). */
  sections?: readonly RecipeSection[];
  /**
   * Let answers to questions people are not asked (internal types, disabled, `$database`) through
   * as given, for a wrapping YAML recipe's fixed answers. Off: such an answer is an error.
   */
  passUnasked?: boolean;
}

/** The answers did not pass: `errors` names each question; the message joins them. */
export class RecipeAnswersError extends CodedError {
  override name = 'RecipeAnswersError';
  constructor(readonly errors: readonly AnswerError[]) {
    super('RECIPE_ANSWERS_INVALID', errors.map((e) => e.message).join('; '), { exitCode: EXIT.badInput });
  }
}

/** A single answer read and checked: its API value, or the sentences saying what is wrong. */
type Read = { value: RecipeAnswerValue; problems: string[] };

/** Checks `given` against `questions`; the answers to send, or every error at once. */
export function checkAnswers(
  given: Readonly<Record<string, unknown>>,
  questions: readonly RecipeQuestion[],
  options: CheckAnswersOptions = {},
): CheckedAnswers {
  const byName = new Map<string, RecipeQuestion>();
  for (const question of inFormOrder(questions, options.sections)) if (!byName.has(question.name)) byName.set(question.name, question);

  const errors: AnswerError[] = [];
  const warnings: string[] = [];
  const answers: Record<string, RecipeAnswerValue> = {};
  for (const [name, question] of byName) {
    const raw = given[name];
    const unanswered = raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '');
    if (!isAskedQuestion(question)) {
      if (unanswered) continue;
      if (options.passUnasked && isScalar(raw)) answers[name] = raw;
      else
        errors.push({ question: name, message: options.passUnasked ? `${name} must be a single value` : `${name} is set by the recipe itself, not answered` });
      continue;
    }
    if (question.regex !== undefined) {
      const compiled = compileWholeMatch(question.regex, question.label);
      if (!compiled.ok) warnings.push(compiled.warning);
    }
    if (unanswered) {
      if (question.required && defaultIsEmpty(question.default)) errors.push({ question: name, message: `${question.label} is required` });
      continue;
    }
    const read = readAnswer(question, raw);
    if (read.problems.length === 0 && question.readonly && !sameAsDefault(question, read.value)) {
      read.problems.push(`${question.label} is fixed by the recipe and cannot be changed`);
    }
    if (read.problems.length > 0) errors.push(...read.problems.map((message) => ({ question: name, message })));
    else answers[name] = read.value;
  }
  for (const key of Object.keys(given)) if (!byName.has(key)) errors.push({ question: key, message: `${key} is not a question of this recipe` });
  return errors.length > 0 ? { ok: false, errors, warnings } : { ok: true, answers, warnings };
}

/** As checkAnswers, throwing RecipeAnswersError (code RECIPE_ANSWERS_INVALID) when any answer is wrong. */
export function answersOrThrow(given: Readonly<Record<string, unknown>>, questions: readonly RecipeQuestion[], options: CheckAnswersOptions = {}) {
  const checked = checkAnswers(given, questions, options);
  if (!checked.ok) throw new RecipeAnswersError(checked.errors);
  return { answers: checked.answers, warnings: checked.warnings };
}

function isScalar(value: unknown): value is RecipeAnswerValue {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** One answer in the API's unit, checked against its question's bounds, pattern and choices. */
export function readAnswer(question: RecipeQuestion, raw: unknown): Read {
  const label = question.label;
  const secret = isSecretQuestion(question);
  /** "(got …)" for a value people may see; nothing for a secret. */
  const got = (shown: unknown): string => (secret ? '' : ` (got ${quoted(shown)})`);
  const wrong = (converted: Converted<unknown> & { ok: false }): Read => ({ value: '', problems: [`${label} must be ${converted.mustBe}${got(raw)}`] });

  switch (question.type) {
    case 'num':
    case 'ram':
    case 'disksize':
    case 'seconds': {
      const reader = { num: readWhole, ram: readRamMb, disksize: readDiskBytes, seconds: readSeconds }[question.type];
      const show = { num: String, ram: ramText, disksize: bytesText, seconds: secondsText }[question.type];
      const n = reader(raw);
      if (!n.ok) return wrong(n);
      const problems: string[] = [];
      // 0 for a disk size is the recipe's own size: no bound applies to it.
      const recipeDefaultDisk = question.type === 'disksize' && n.value === 0;
      if (question.min !== undefined && n.value < question.min && !recipeDefaultDisk)
        problems.push(`${label} must be at least ${show(question.min)}${got(raw)}`);
      else if (question.min === undefined && n.value < 0) problems.push(`${label} cannot be negative${got(raw)}`);
      if (question.max !== undefined && n.value > question.max) problems.push(`${label} must be at most ${show(question.max)}${got(raw)}`);
      if (question.type === 'disksize' && n.value > 0 && n.value < DISK_SIZE_MIN_BYTES) {
        problems.push(`${label} must be 0 (the recipe's default) or at least 1 MiB: a disk size is in bytes, so 100GiB is 107374182400${got(raw)}`);
      }
      return { value: n.value, problems };
    }
    case 'string':
    case 'hostname':
    case 'textarea':
    case 'password': {
      const text = readText(raw);
      if (!text.ok) return wrong(text);
      // One-line text from a form is trimmed; a text area and a password are taken as typed.
      const value = question.type === 'string' || question.type === 'hostname' ? text.value.trim() : text.value;
      return { value, problems: textProblems(question, value, secret) };
    }
    case 'bool': {
      const flag = readBool(raw);
      return flag.ok ? { value: flag.value, problems: [] } : wrong(flag);
    }
    case 'list':
      return readChoice(question, raw, got);
    case 'network': {
      if (typeof raw === 'string' && raw.trim() === NEW_INTERNAL_NETWORK) return { value: NEW_INTERNAL_NETWORK, problems: [] };
      const key = wholeNumber(raw);
      return key !== undefined && key >= 0
        ? { value: key, problems: [] }
        : wrong({ ok: false, mustBe: `a network key (a whole number) or ${NEW_INTERNAL_NETWORK}` });
    }
    case 'cluster': {
      const key = wholeNumber(raw);
      return key !== undefined && key >= 0 ? { value: key, problems: [] } : wrong({ ok: false, mustBe: 'a cluster key (a whole number)' });
    }
    case 'row': {
      const key = readKey(raw);
      return key.ok ? { value: key.value, problems: [] } : wrong({ ok: false, mustBe: `a row of ${question.table ?? 'its table'} (a key)` });
    }
    default:
      return { value: '', problems: [`${label} has a question type (${question.type}) the bot cannot answer`] };
  }
}

/** Length (in characters) and whole-answer pattern; a secret's value and length are never quoted. */
function textProblems(question: RecipeQuestion, value: string, secret: boolean): string[] {
  const problems: string[] = [];
  const length = [...value].length;
  const count = secret ? '' : ` (got ${length})`;
  if (question.min !== undefined && length < question.min) problems.push(`${question.label} must be at least ${question.min} characters${count}`);
  if (question.max !== undefined && length > question.max) problems.push(`${question.label} must be at most ${question.max} characters${count}`);
  if (question.regex !== undefined) {
    const compiled = compileWholeMatch(question.regex, question.label);
    if (compiled.ok && !compiled.test(value)) problems.push(`${question.label} must match ${question.regex}${secret ? '' : ` (got ${quoted(value)})`}`);
  }
  return problems;
}

/** A list answer is one of its choices' values (sent as the value, a string). */
function readChoice(question: RecipeQuestion, raw: unknown, got: (shown: unknown) => string): Read {
  const choices = question.choices ?? {};
  const values = Object.keys(choices);
  if (values.length === 0) {
    // A list backed by a table (or with no inline choices): its rows are checked by VergeOS.
    const key = readKey(raw);
    return key.ok ? { value: key.value, problems: [] } : { value: '', problems: [`${question.label} must be a choice${got(raw)}`] };
  }
  const value = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;
  if (value !== undefined && values.includes(value)) return { value, problems: [] };
  const listed = values
    .slice(0, 8)
    .map((v) => (choices[v] === v || !choices[v] ? `'${v}'` : `'${v}' (${choices[v]})`))
    .join(', ');
  return { value: '', problems: [`${question.label} must be one of ${listed}${values.length > 8 ? ', …' : ''}${got(raw)}`] };
}

/** Whether a read-only question's answer is its default (the only answer it takes). */
function sameAsDefault(question: RecipeQuestion, value: RecipeAnswerValue): boolean {
  if (question.default === undefined || question.default === null) return false;
  const read = readAnswer({ ...question, readonly: false }, question.default);
  return read.problems.length === 0 && read.value === value;
}
