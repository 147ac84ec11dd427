/** The error that ends a CLI command with an exit code (and its message, if any, on stderr). */
import { CodedError, EXIT, type ExitCode } from '../errors.js';

export { EXIT, type ExitCode } from '../errors.js';

/** Stable codes for the ways a command ends (`code`); the number the process exits with is `exitCode`. */
const CLI_CODES: Record<ExitCode, string> = {
  [EXIT.ok]: 'CLI_DONE',
  [EXIT.failed]: 'CLI_FAILED',
  [EXIT.badInput]: 'CLI_BAD_INPUT',
};

export class CliExit extends CodedError {
  override readonly name = 'CliExit';

  constructor(exitCode: ExitCode, message: string) {
    super(CLI_CODES[exitCode], message, { exitCode });
  }
}
