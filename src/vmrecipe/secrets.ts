/**
 * Secret recipe answers (passwords, and any question VergeOS does not store) never reach a record,
 * a log or a message: the caller stores `kept` and holds `secrets` in memory until the deploy;
 * whatever is shown (the approval message, audit records, a simulation's echo, its cloud-init and
 * logs) goes through maskAnswers / maskResolvedAnswers / redactSecrets first.
 */
import type { RecipeQuestion } from '../vergeos/recipe-types.js';
import type { RecipeAnswerValue } from './convert.js';
import { isSecretQuestion } from './fields.js';

export const SECRET_MASK = '••••••';

/**
 * Keys that look like secrets, for an echoed answer with no question to say (VergeOS may resolve
 * keys the recipe's questions do not list): masked too, failing closed.
 */
const SECRET_LOOKING_KEY = /pass(word|wd|phrase)?|secret|token|private|credential/i;

function secretNames(questions: readonly Pick<RecipeQuestion, 'name' | 'type' | 'dontStore'>[]): Set<string> {
  return new Set(questions.filter(isSecretQuestion).map((q) => q.name));
}

/** A copy of `answers` with each secret answer replaced by the mask, for display and audit. */
export function maskAnswers<V>(answers: Readonly<Record<string, V>>, questions: readonly RecipeQuestion[]): Record<string, V | typeof SECRET_MASK> {
  const secret = secretNames(questions);
  return Object.fromEntries(Object.entries(answers).map(([name, value]) => [name, secret.has(name) ? SECRET_MASK : value]));
}

/** The answers to store (`kept`) and the secrets to hold only in memory until the deploy. */
export function splitSecrets(
  answers: Readonly<Record<string, RecipeAnswerValue>>,
  questions: readonly RecipeQuestion[],
): { kept: Record<string, RecipeAnswerValue>; secrets: Record<string, RecipeAnswerValue> } {
  const secret = secretNames(questions);
  const kept: Record<string, RecipeAnswerValue> = {};
  const secrets: Record<string, RecipeAnswerValue> = {};
  for (const [name, value] of Object.entries(answers)) (secret.has(name) ? secrets : kept)[name] = value;
  return { kept, secrets };
}

/**
 * A resolved-answers map VergeOS echoes back (a simulation's `answers`, an instance's answers):
 * secret questions' answers and secret-looking keys masked, and any known secret value found inside
 * another answer's text redacted. Nested values are redacted as text.
 */
export function maskResolvedAnswers(
  resolved: Readonly<Record<string, unknown>>,
  questions: readonly RecipeQuestion[],
  secrets: Readonly<Record<string, RecipeAnswerValue>> | readonly string[] = [],
): Record<string, unknown> {
  const secret = secretNames(questions);
  const known = new Set(questions.map((q) => q.name));
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(resolved)) {
    if (secret.has(name) || (!known.has(name) && SECRET_LOOKING_KEY.test(name))) out[name] = SECRET_MASK;
    else if (typeof value === 'string') out[name] = redactSecrets(value, secrets);
    else if (typeof value === 'object' && value !== null) out[name] = redactedJson(value, secrets);
    else out[name] = (typeof value === 'number' || typeof value === 'boolean') && secretValues(secrets).includes(String(value)) ? SECRET_MASK : value;
  }
  return out;
}

/** A nested value with secrets redacted in its JSON; masked whole when that no longer reads back. */
function redactedJson(value: object, secrets: Readonly<Record<string, RecipeAnswerValue>> | readonly string[]): unknown {
  const json = JSON.stringify(value);
  const redacted = redactSecrets(json, secrets);
  if (redacted === json) return value;
  try {
    return JSON.parse(redacted) as unknown;
  } catch {
    return SECRET_MASK;
  }
}

function secretValues(secrets: Readonly<Record<string, RecipeAnswerValue>> | readonly string[]): string[] {
  return (Array.isArray(secrets) ? secrets : Object.values(secrets as Record<string, RecipeAnswerValue>)).map(String).filter((v) => v !== '');
}

/**
 * `text` (a cloud-init file, a log line) with every verbatim occurrence of a secret replaced by the
 * mask, as typed and as JSON escapes it. Longest first, so a secret holding another is masked whole.
 */
export function redactSecrets(text: string, secrets: Readonly<Record<string, RecipeAnswerValue>> | readonly string[]): string {
  const forms = new Set<string>();
  for (const value of secretValues(secrets)) {
    forms.add(value);
    forms.add(JSON.stringify(value).slice(1, -1));
  }
  let out = text;
  for (const form of [...forms].sort((a, b) => b.length - a.length)) out = out.split(form).join(SECRET_MASK);
  return out;
}
