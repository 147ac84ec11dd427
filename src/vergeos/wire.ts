/**
 * How the client reads VergeOS's answers and writes values into its requests: a body parsed with
 * zod (an unreadable one is a VergeosError), keys and names as filter values, keys as numbers.
 */
import type { z } from 'zod';
import { VergeosError } from './errors.js';

export function parseBody<S extends z.ZodType>(schema: S, body: unknown, endpoint: string, afterPost = false): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length ? `${issue.path.join('.')}: ` : '';
  throw badResponse(endpoint, `${where}${issue?.message ?? 'unexpected shape'}`, afterPost);
}

/** A POST whose 2xx body we cannot read did happen: the caller must look, not re-send. */
export function badResponse(endpoint: string, detail: string, afterPost: boolean): VergeosError {
  return new VergeosError({
    code: 'VERGEOS_BAD_RESPONSE',
    endpoint,
    vergeosMessage: detail,
    retrySafe: !afterPost,
    outcomeUnknown: afterPost,
  });
}

/**
 * VergeOS releases differ on how a quote inside a filter string is escaped, so names with quotes
 * cannot be looked up reliably; the VM spec never allows them. Refuse rather than guess.
 */
export function quote(value: string): string {
  if (/['"\\]/.test(value)) {
    throw new VergeosError({
      code: 'VERGEOS_VALIDATION',
      endpoint: 'GET /api/v4/vms',
      vergeosMessage: 'names containing quotes or backslashes cannot be looked up',
      retrySafe: false,
    });
  }
  return `'${value}'`;
}

export function numericFilterValue(key: string): string {
  return /^\d+$/.test(key) ? key : quote(key);
}

export function numericIfPossible(key: string): number | string {
  return /^\d+$/.test(key) ? Number(key) : key;
}
