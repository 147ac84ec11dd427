/**
 * One value of a VergeOS recipe answer, read from what a person typed (a form's string) or a YAML
 * value (number, string, boolean), into the API's unit for its question type: RAM in MB, disk sizes
 * in bytes, seconds, whole numbers, JSON booleans. Shared by the form (defaults shown), the answers
 * (validation) and the sizes (quotas), so each type is read one way everywhere.
 */
import { formatBytes, formatMegabytes, MIB, parseDuration, parseSizeToBytes } from '../vmspec/units.js';

/** A read value, or the words that finish "<label> must be …". */
export type Converted<T> = { ok: true; value: T } | { ok: false; mustBe: string };

/** What a recipe answer is once read: what VergeOS's `answers` map holds. */
export type RecipeAnswerValue = string | number | boolean;

/**
 * Disk sizes above zero and under this are refused (as gov does): the size is in bytes, so `50`
 * is fifty bytes, and the platform then keeps the image's own disk while reporting success.
 */
export const DISK_SIZE_MIN_BYTES = MIB;

/** The literal a `network` question takes for "make a new internal network". */
export const NEW_INTERNAL_NETWORK = '__new_internal__';

/** Words a bool answer accepts (gov's list); anything else VergeOS would read as false. */
const TRUE_WORDS = ['true', 'yes', 'on', '1'];
const FALSE_WORDS = ['false', 'no', 'off', '0'];

const ok = <T>(value: T): Converted<T> => ({ ok: true, value });
const no = (mustBe: string): Converted<never> => ({ ok: false, mustBe });

/** A whole number from a number or a plain decimal string ("+4", "1e3" and "4.5" are not). */
export function wholeNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== 'string' || !/^\s*-?\d+\s*$/.test(value)) return undefined;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

export function readWhole(value: unknown): Converted<number> {
  const n = wholeNumber(value);
  return n === undefined ? no('a whole number') : ok(n);
}

/** RAM in MB: a bare number is MB, or a size like "8GiB" / "512MiB" (binary units, as units.ts). */
export function readRamMb(value: unknown): Converted<number> {
  const whole = wholeNumber(value);
  if (whole !== undefined) return ok(whole);
  const bytes = typeof value === 'string' ? parseSizeToBytes(value) : undefined;
  if (bytes === undefined || bytes % MIB !== 0) return no('a size in whole MB, like 8GiB or 512MiB (a bare number is MB)');
  return ok(bytes / MIB);
}

/** A disk size in bytes: a bare number is bytes, or a size like "100GiB"; 0 is the recipe's default. */
export function readDiskBytes(value: unknown): Converted<number> {
  const whole = wholeNumber(value);
  if (whole !== undefined) return ok(whole);
  const bytes = typeof value === 'string' ? parseSizeToBytes(value) : undefined;
  return bytes === undefined ? no("a size like 100GiB (a bare number is bytes; 0 is the recipe's default)") : ok(bytes);
}

/** Seconds: a bare number is seconds, or a duration like "90s", "5m", "2h", "1d" (whole seconds). */
export function readSeconds(value: unknown): Converted<number> {
  const whole = wholeNumber(value);
  if (whole !== undefined) return ok(whole);
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || ms % 1000 !== 0) return no('a number of seconds or a duration like 90s, 5m or 2h');
  return ok(ms / 1000);
}

/** A JSON boolean from true/false, 1/0 or the words yes/no, on/off, true/false, 1/0. */
export function readBool(value: unknown): Converted<boolean> {
  if (typeof value === 'boolean') return ok(value);
  if (value === 1 || value === 0) return ok(value === 1);
  if (typeof value === 'string') {
    const word = value.trim().toLowerCase();
    if (TRUE_WORDS.includes(word)) return ok(true);
    if (FALSE_WORDS.includes(word)) return ok(false);
  }
  return no('yes or no (true/false, on/off, 1/0)');
}

/** Text: a string, or a number written out (YAML reads `port: 8080` as a number). */
export function readText(value: unknown): Converted<string> {
  if (typeof value === 'string') return ok(value);
  if (typeof value === 'number' && Number.isFinite(value)) return ok(String(value));
  return no('text');
}

/** A key (cluster, network, table row): an integer when it is one, else the text as given. */
export function readKey(value: unknown): Converted<number | string> {
  const whole = wholeNumber(value);
  if (whole !== undefined) return ok(whole);
  if (typeof value === 'string' && value.trim() !== '') return ok(value.trim());
  return no('a key');
}

/** RAM as the form shows it: "8 GiB" when that reads back exactly, else the MB. */
export function ramText(mb: number): string {
  if (mb <= 0) return String(mb);
  const text = formatMegabytes(mb);
  return parseSizeToBytes(text) === mb * MIB ? text : String(mb);
}

/** Bytes as the form shows them: "100 GiB" when that reads back exactly, else the bytes. */
export function bytesText(bytes: number): string {
  if (bytes < MIB) return String(bytes);
  const text = formatBytes(bytes);
  return parseSizeToBytes(text) === bytes ? text : String(bytes);
}

/** Seconds as a duration the form reads back: "1d", "2h", "5m", "90s". */
export function secondsText(seconds: number): string {
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (seconds > 0 && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** How a value is quoted after "(got …)": strings in quotes, the rest as JSON writes them. */
export function quoted(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}
