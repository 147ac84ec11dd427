/**
 * The one error type (after bolt-js's `CodedError`): a stable `code`, a message that is the
 * operator's sentence (plain words, never a secret), and the exit code a CLI command ends with.
 * Each module's errors are subclasses naming their own codes (`StoreError`, `VergeosError`, …), so
 * a caller tests what happened with `isBusy` / `isConflict` / `hasCode` instead of re-writing the
 * same `instanceof … && code === …` at each call site.
 */

/** Exit codes a command ends with: done, failed (or refused), or the input was wrong. */
export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface CodedErrorOptions {
  /** How a CLI command that ends on this error exits (default `EXIT.failed`). */
  exitCode?: ExitCode | undefined;
  cause?: unknown;
}

export class CodedError extends Error {
  override name = 'CodedError';
  readonly exitCode: ExitCode;

  constructor(
    readonly code: string,
    message: string,
    options: CodedErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options.exitCode ?? EXIT.failed;
  }
}

/**
 * Codes that mean "someone else is changing this right now": another click, another lead or
 * another bot process got there first. The caller says so (or moves on); it is not a failure.
 */
const BUSY_CODES: ReadonlySet<string> = new Set(['RUN_BUSY', 'STORE_CONFLICT']);

/** Another caller holds or just changed the record (a run executing, a compare-and-set lost). */
export function isBusy(err: unknown): err is CodedError {
  return err instanceof CodedError && BUSY_CODES.has(err.code);
}

/** A compare-and-set lost to a concurrent change (the record moved on since it was read). */
export function isConflict(err: unknown): err is CodedError {
  return err instanceof CodedError && err.code === 'STORE_CONFLICT';
}

/** Whether `err` is a coded error with one of `codes`. */
export function hasCode(err: unknown, ...codes: string[]): err is CodedError {
  return err instanceof CodedError && codes.includes(err.code);
}
