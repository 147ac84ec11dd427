/** `vmbot`: the command line. Each command lives in src/cli/ with a `register`. */
import { Command } from 'commander';
import { register as registerApply } from './cli/apply.js';
import { register as registerAudit } from './cli/audit.js';
import { CliExit, EXIT } from './cli/context.js';
import { register as registerPlan } from './cli/plan.js';
import { register as registerPolicy } from './cli/policy.js';
import { register as registerRuns } from './cli/runs.js';
import { register as registerSim, registerSlackSend, registerSlackSim } from './cli/sim.js';
import { register as registerStart } from './cli/start.js';
import { register as registerValidate } from './cli/validate.js';
import { register as registerVms } from './cli/vms.js';

const program = new Command('vmbot')
  .description('Provision VergeOS VMs from Slack or the command line')
  .showHelpAfterError()
  .exitOverride((err) => {
    // commander's own usage errors are bad input (exit 2); --help and --version exit 0.
    throw new CliExit(err.exitCode === 0 ? EXIT.ok : EXIT.badInput, '');
  });

for (const register of [registerStart, registerValidate, registerPlan, registerApply, registerRuns, registerVms, registerAudit, registerPolicy, registerSim, registerSlackSim, registerSlackSend]) register(program);

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
    process.exitCode = err.code;
  } else {
    process.stderr.write(`vmbot: ${(err as Error).message}\n`);
    process.exitCode = EXIT.failed;
  }
}
