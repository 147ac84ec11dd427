import type { Command } from 'commander';
import { planSpec } from '../plan/plan.js';
import { renderPlanText } from '../plan/render.js';
import { provisionBulk } from '../provision/bulk.js';
import { runResult } from '../provision/result.js';
import { CliExit, cliActor, confirm, EXIT, openCore, printJson } from './context.js';
import { progressPrinter } from './progress.js';
import { parseCount, specsFromRecipe } from './recipe-input.js';

export function register(program: Command): void {
  program
    .command('apply')
    .description('provision VMs from a recipe directly against VERGEOS_URL')
    .argument('<file>', 'recipe file')
    .option('--name <name>', 'VM name (or pattern with {n} for --count, e.g. web-{n})')
    .option('--count <k>', 'how many VMs (separate runs, bounded concurrency)', parseCount, 1)
    .option('--concurrency <c>', 'VMs provisioned at once with --count', parseCount, 4)
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print exactly one JSON object with the result on stdout')
    .action(async (file: string, opts: { name?: string; count: number; concurrency: number; yes?: boolean; json?: boolean }) => {
      const { specs } = await specsFromRecipe(file, opts.name, opts.count);
      // Progress goes to stderr under --json, so stdout stays one JSON object.
      const say = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
      say(specs.map((s) => renderPlanText(planSpec(s))).join('\n\n'));
      const core = await openCore({ withVergeos: true });
      try {
        const taken = await core.provisioner!.takenNames(specs.map((s) => s.vm.name));
        if (taken.size) {
          throw new CliExit(EXIT.badInput, [...taken].map(([name, key]) => `${file}:vm.name: the name ${name} is taken in VergeOS (VM key ${key}); pick another`).join('\n'));
        }
        if (!opts.yes && !(await confirm(`Create ${specs.length === 1 ? `VM ${specs[0]!.vm.name}` : `${specs.length} VMs`} in VergeOS?`))) {
          throw new CliExit(EXIT.failed, 'Nothing was created.');
        }
        const names = new Map(specs.map((s) => [s.vm.name, s.vm.name]));
        const listener = progressPrinter(say, (runId) => core.store.getRun(runId)?.spec.vm.name ?? names.get(runId) ?? runId);
        const runs =
          specs.length === 1
            ? [await core.provisioner!.execute((await core.provisioner!.createRun(specs[0]!, { actor: cliActor() })).id, listener, cliActor())]
            : await provisionBulk(core.provisioner!, specs, { actor: cliActor(), concurrency: opts.concurrency, listener });
        const results = runs.map(runResult);
        const failed = results.filter((r) => r.state !== 'succeeded').length;
        if (opts.json) {
          printJson(results.length === 1 ? results[0] : { runs: results, succeeded: results.length - failed, failed });
        } else if (results.length > 1) {
          say(`${results.length - failed} of ${results.length} VMs provisioned${failed ? `; ${failed} failed (see above)` : ''}.`);
        }
        process.exitCode = failed ? EXIT.failed : EXIT.ok;
      } finally {
        await core.close();
      }
    });
}
