/**
 * A question's `regex` as VergeOS publishes it, compiled to match the WHOLE answer. A pattern that
 * does not compile must not stop a request: it is then not checked, and a warning says so.
 */

/**
 * The stock Linux recipes publish this HOSTNAME pattern, one character too strict ("db" fails it);
 * the platform does not apply it on deploy, so it is read as the intended one (as gov does). The
 * error still quotes the pattern the recipe published.
 */
const STOCK_HOSTNAME_REGEX = '[a-zA-Z]([a-zA-Z0-9_-]+[a-zA-Z0-9])?';
const STOCK_HOSTNAME_INTENDED = '[a-zA-Z]([a-zA-Z0-9_-]*[a-zA-Z0-9])?';

export type CompiledPattern = { ok: true; test: (answer: string) => boolean } | { ok: false; warning: string };

/** `regex` anchored at both ends (`^(?:…)$`, no multiline), or why it is not checked. */
export function compileWholeMatch(regex: string, label: string): CompiledPattern {
  const source = regex === STOCK_HOSTNAME_REGEX ? STOCK_HOSTNAME_INTENDED : regex;
  try {
    const pattern = new RegExp(`^(?:${source})$`);
    return { ok: true, test: (answer) => pattern.test(answer) };
  } catch {
    return { ok: false, warning: `${label}: the recipe's pattern ${regex} is not a valid regular expression, so answers are not checked against it` };
  }
}
