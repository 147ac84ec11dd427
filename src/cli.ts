/** `vmbot`: the command line. src/cli/commands.ts says what can be typed; each command's module does it. */
import { Command } from 'commander';
import { registerCommands } from './cli/commands.js';
import { CliExit, EXIT } from './cli/exit.js';
import { CodedError } from './errors.js';

const program = new Command('vmbot')
  .description('Provision VergeOS VMs from Slack or the command line')
  .showHelpAfterError()
  .exitOverride((err) => {
    // commander's own usage errors are bad input (exit 2); --help and --version exit 0.
    throw new CliExit(err.exitCode === 0 ? EXIT.ok : EXIT.badInput, '');
  });

registerCommands(program);

// Everything vmbot writes (the store holds cloud-init contents, the audit log who did what) is for
// its own user only, whatever umask it was started with.
process.umask(0o077);

// `vmbot audit | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CliExit) {
    if (err.message) process.stderr.write(`${err.message}\n`);
    process.exitCode = err.exitCode;
  } else if (err instanceof CodedError) {
    // Any other module's error that reached the top: its sentence, and the exit code it names.
    process.stderr.write(`vmbot: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`vmbot: ${(err as Error).message}\n`);
    process.exitCode = EXIT.failed;
  }
}
