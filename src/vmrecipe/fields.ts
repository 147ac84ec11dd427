/**
 * The form a VergeOS recipe asks, from its questions and sections: one field per asked question
 * (isAskedQuestion: not internal, not disabled, not in `$database`), grouped under its section's
 * header, sections and fields in VergeOS's order. UI-agnostic: the Slack modal and the CLI render it.
 * Numbers are bounded in the field's own unit (RAM in MB, disk sizes in bytes, seconds); text
 * fields by length.
 */
import { isAskedQuestion, type QuestionType, type RecipeQuestion, type RecipeSection } from '../vergeos/recipe-types.js';
import { bytesText, ramText, readBool, readDiskBytes, readKey, readRamMb, readSeconds, readWhole, secondsText, type Converted } from './convert.js';
import { compileWholeMatch } from './question-regex.js';

export const DATABASE_SECTION = '$database';

interface FieldCommon {
  /** The answer's key (e.g. YB_RAM). */
  name: string;
  label: string;
  hint: string;
  help: string;
  required: boolean;
  /** Shown, not changeable: only its default may be answered. */
  readonly: boolean;
  questionType: QuestionType;
  /** The answer is a secret (a password or `dont_store`): masked in every record and message. */
  secret: boolean;
}

/** A number the person types in the field's unit; `min`/`max` are in that unit. */
export interface NumberField extends FieldCommon {
  kind: 'number';
  /** `count` for `num`, `MB` for `ram` (typed as "8GiB" or MB), `bytes` for `disksize` (typed as "100GiB"), `seconds` (typed as "5m" or seconds). */
  unit: 'count' | 'MB' | 'bytes' | 'seconds';
  /** How to type it, for a hint under the input. */
  entry: string;
  default?: string;
  min?: number;
  max?: number;
  /** The bounds as a person reads them ("1 GiB", "5m"). */
  minText?: string;
  maxText?: string;
}

export interface TextField extends FieldCommon {
  kind: 'text';
  /** `textarea` is multi-line; `string` and `hostname` are one line. */
  multiline: boolean;
  default?: string;
  minLength?: number;
  maxLength?: number;
  /** Matched against the whole answer (absent when VergeOS's pattern does not compile). */
  regex?: string;
}

/** A password (or a question VergeOS does not store): never prefilled, echoed or kept. */
export interface SecretField extends FieldCommon {
  kind: 'secret';
  /** The recipe has a default; it is not shown. */
  hasDefault: boolean;
  minLength?: number;
  maxLength?: number;
  regex?: string;
}

export interface SelectField extends FieldCommon {
  kind: 'select';
  options: Array<{ value: string; label: string }>;
  default?: string;
}

export interface CheckboxField extends FieldCommon {
  kind: 'checkbox';
  default: boolean;
}

/** One of the bot's live pickers (clusters, networks); a network may also be a new internal one. */
export interface PickerField extends FieldCommon {
  kind: 'picker';
  picker: 'cluster' | 'network';
  default?: string;
}

/** A select over the rows of a VergeOS table (a `row` question, or a list backed by a table). */
export interface RowField extends FieldCommon {
  kind: 'row';
  table: string;
  default?: string;
}

export type RecipeField = NumberField | TextField | SecretField | SelectField | CheckboxField | PickerField | RowField;

export interface FormSection {
  /** The header ('' for questions in no section). */
  name: string;
  description: string;
  fields: RecipeField[];
}

export interface RecipeForm {
  sections: FormSection[];
  /** What the form could not honour (a pattern that does not compile, a default that does not read). */
  warnings: string[];
}

/** Whether the answer to `question` is a secret: a password, or one VergeOS does not store. */
export function isSecretQuestion(question: Pick<RecipeQuestion, 'type' | 'dontStore'>): boolean {
  return question.type === 'password' || question.dontStore;
}

/** Whether a default is "none" (gov's reading: null, "", false and 0 are no default). */
export function defaultIsEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === '' || value === false || value === 0;
}

const TEXT_TYPES: ReadonlySet<string> = new Set(['string', 'hostname', 'textarea']);

const NUMBER_UNITS = {
  num: { unit: 'count', read: readWhole, show: String, entry: 'a whole number' },
  ram: { unit: 'MB', read: readRamMb, show: ramText, entry: 'a size like 8GiB or 512MiB (a bare number is MB)' },
  disksize: { unit: 'bytes', read: readDiskBytes, show: bytesText, entry: "a size like 100GiB (blank or 0: the recipe's default)" },
  seconds: { unit: 'seconds', read: readSeconds, show: secondsText, entry: 'a duration like 90s, 5m or 2h (a bare number is seconds)' },
} as const;

/** The form for a recipe: its asked questions as fields, under their sections' headers. */
export function recipeForm(questions: readonly RecipeQuestion[], sections: readonly RecipeSection[] = []): RecipeForm {
  const warnings: string[] = [];
  const byKey = new Map(sections.map((s) => [s.key, s]));
  const groups = new Map<string, FormSection>();
  for (const question of inFormOrder(questions, sections)) {
    if (!isAskedQuestion(question)) continue;
    const known = sectionKeyOf(question, sections);
    const section = known === undefined ? undefined : byKey.get(known);
    if (section?.name === DATABASE_SECTION) continue;
    const groupKey = known ?? `name:${question.section}`;
    let group = groups.get(groupKey);
    if (!group) {
      group = { name: section?.name ?? question.section, description: section?.description ?? '', fields: [] };
      groups.set(groupKey, group);
    }
    group.fields.push(fieldFor(question, warnings));
  }
  return { sections: [...groups.values()], warnings };
}

/**
 * Questions in the order the form shows them: by section (VergeOS's section order, then sections
 * it does not list, as first met), then by `orderid`. Errors and answers follow the same order.
 */
export function inFormOrder<Q extends RecipeQuestion>(questions: readonly Q[], sections: readonly RecipeSection[] = []): Q[] {
  const orderedSections = [...sections].sort((a, b) => a.order - b.order);
  const byOrder = [...questions].sort((a, b) => a.order - b.order);
  const groups: string[] = orderedSections.map((s) => s.key);
  const groupOf = new Map<Q, number>();
  for (const question of byOrder) {
    const key = sectionKeyOf(question, orderedSections) ?? `name:${question.section}`;
    if (!groups.includes(key)) groups.push(key);
    groupOf.set(question, groups.indexOf(key));
  }
  return byOrder.sort((a, b) => groupOf.get(a)! - groupOf.get(b)!);
}

/** The section a question is in: by its section key, else by the section's name. */
function sectionKeyOf(question: RecipeQuestion, sections: readonly RecipeSection[]): string | undefined {
  if (question.sectionKey !== undefined && sections.some((s) => s.key === question.sectionKey)) return question.sectionKey;
  return sections.find((s) => question.section !== '' && s.name === question.section)?.key;
}

/** The field for one asked question (its type is one of the stored types). */
export function fieldFor(question: RecipeQuestion, warnings: string[] = []): RecipeField {
  const type = question.type as QuestionType;
  const common: FieldCommon = {
    name: question.name,
    label: question.label,
    hint: question.hint,
    help: question.help,
    required: question.required,
    readonly: question.readonly,
    questionType: type,
    secret: isSecretQuestion(question),
  };
  const shown = <T>(read: (v: unknown) => Converted<T>, show: (v: T) => string): string | undefined => {
    if (defaultIsEmpty(question.default) && question.default !== 0) return undefined;
    const value = read(question.default);
    if (value.ok) return show(value.value);
    warnings.push(`${question.label}: the recipe's default ${JSON.stringify(question.default)} is not ${value.mustBe}, so none is shown`);
    return undefined;
  };
  // Secret text is never prefilled; a secret of another type (a dont_store number) keeps its input.
  if (type === 'password' || (common.secret && TEXT_TYPES.has(type))) {
    return { ...common, kind: 'secret', hasDefault: !defaultIsEmpty(question.default), ...lengths(question), ...pattern(question, warnings) };
  }
  switch (type) {
    case 'num':
    case 'ram':
    case 'disksize':
    case 'seconds': {
      const { unit, read, show, entry } = NUMBER_UNITS[type];
      const display = show as (n: number) => string;
      const fallback = type === 'disksize' && question.default === 0 ? undefined : shown(read, display);
      return {
        ...common,
        kind: 'number',
        unit,
        entry,
        ...(fallback === undefined ? {} : { default: fallback }),
        ...(question.min === undefined ? {} : { min: question.min, minText: display(question.min) }),
        ...(question.max === undefined ? {} : { max: question.max, maxText: display(question.max) }),
      };
    }
    case 'string':
    case 'hostname':
    case 'textarea': {
      const text = shown((v) => (typeof v === 'string' || typeof v === 'number' ? { ok: true, value: String(v) } : { ok: false, mustBe: 'text' }), String);
      return {
        ...common,
        kind: 'text',
        multiline: type === 'textarea',
        ...(text === undefined ? {} : { default: text }),
        ...lengths(question),
        ...pattern(question, warnings),
      };
    }
    case 'bool': {
      const value = readBool(question.default ?? false);
      return { ...common, kind: 'checkbox', default: value.ok ? value.value : false };
    }
    case 'list': {
      if (question.choices === undefined && question.table !== undefined) return { ...common, kind: 'row', table: question.table, ...keyDefault(question) };
      const options = Object.entries(question.choices ?? {}).map(([value, label]) => ({ value, label }));
      const value = typeof question.default === 'string' || typeof question.default === 'number' ? String(question.default) : undefined;
      return { ...common, kind: 'select', options, ...(value !== undefined && options.some((o) => o.value === value) ? { default: value } : {}) };
    }
    case 'cluster':
    case 'network':
      return { ...common, kind: 'picker', picker: type, ...keyDefault(question) };
    case 'row':
      return { ...common, kind: 'row', table: question.table ?? '', ...keyDefault(question) };
  }
}

function keyDefault(question: RecipeQuestion): { default?: string } {
  const key = defaultIsEmpty(question.default) ? undefined : readKey(question.default);
  return key?.ok ? { default: String(key.value) } : {};
}

function lengths(question: RecipeQuestion): { minLength?: number; maxLength?: number } {
  return { ...(question.min === undefined ? {} : { minLength: question.min }), ...(question.max === undefined ? {} : { maxLength: question.max }) };
}

function pattern(question: RecipeQuestion, warnings: string[]): { regex?: string } {
  if (question.regex === undefined) return {};
  const compiled = compileWholeMatch(question.regex, question.label);
  if (compiled.ok) return { regex: question.regex };
  warnings.push(compiled.warning);
  return {};
}
