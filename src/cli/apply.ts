import { provisionBatch } from '../batches/batch.js';
import { planSpec } from '../plan/plan.js';
import { renderPlanText } from '../plan/render.js';
import { withPurpose } from '../vergeos/purpose.js';
import { forecastProvisioning, forecastWarning } from '../workflows/budget-forecast.js';
import { preflightSpecs } from '../preflight/check.js';
import { runResult } from '../provision/result.js';
import { CliExit, cliActor, confirm, EXIT, openCore, printJson } from './context.js';
import { progressPrinter } from './progress.js';
import { specsFromRecipe } from './recipe-input.js';
import { recipeLease } from '../vmspec/recipes.js';

export async function applyCommand(
  file: string,
  opts: { name?: string; count: number; concurrency: number; keepGoing?: boolean; tierMargin: number; yes?: boolean; json?: boolean },
): Promise<void> {
  const { recipe, specs: asked } = await specsFromRecipe(file, opts.name, opts.count);
  // The recipe's default lease, if it has one (extend with `vmbot extend`).
  const lease = recipeLease(recipe);
  // Progress goes to stderr under --json, so stdout stays one JSON object.
  const say = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
  const core = await openCore({ withVergeos: true });
  try {
    // The whole batch is checked before anything is created: names, references, capacity.
    const checked = await withPurpose('preflight', () => preflightSpecs(core.vergeos!, asked, { tierMargin: opts.tierMargin / 100 }));
    if (checked.errors.length || !checked.specs)
      throw new CliExit(EXIT.badInput, `${checked.errors.map((e) => `${file}:${e.path}: ${e.message}`).join('\n')}\nNothing was created.`);
    // Devices named by resource group alone now carry the group's type: the plan shown is the one sent.
    const specs = checked.specs;
    say(
      specs.length === 1
        ? renderPlanText(planSpec(specs[0]!))
        : `${specs.length} VMs, ${specs[0]!.vm.name} … ${specs.at(-1)!.vm.name}, each:\n${renderPlanText(planSpec(specs[0]!))}`,
    );
    const pace = forecastWarning(forecastProvisioning(core.vergeos!, specs), specs.length);
    for (const warning of pace ? [...checked.warnings, pace] : checked.warnings) say(`warning: ${warning}`);
    if (!opts.yes && !(await confirm(`Create ${specs.length === 1 ? `VM ${specs[0]!.vm.name}` : `${specs.length} VMs`} in VergeOS?`))) {
      throw new CliExit(EXIT.failed, 'Nothing was created.');
    }
    const listener = progressPrinter(say, (runId) => core.store.getRun(runId)?.spec.vm.name ?? runId);
    if (specs.length === 1) {
      const run = await core.provisioner!.execute((await core.provisioner!.createRun(specs[0]!, { actor: cliActor(), lease })).id, listener, cliActor());
      if (opts.json) printJson(runResult(run));
      process.exitCode = run.state === 'succeeded' ? EXIT.ok : EXIT.failed;
      return;
    }
    const batch = await provisionBatch(core.provisioner!, specs, {
      actor: cliActor(),
      concurrency: opts.concurrency,
      keepGoing: opts.keepGoing ?? false,
      listener,
      lease,
    });
    const stopped = batch.stoppedBy ? `Stopped after ${batch.stoppedBy.vmName} failed: ${batch.stoppedBy.message}` : undefined;
    if (opts.json) {
      printJson({
        batchId: batch.batchId,
        runs: batch.runs.map(runResult),
        succeeded: batch.succeeded,
        failed: batch.failed,
        notStarted: batch.notStarted,
        ...(stopped ? { stoppedBy: batch.stoppedBy } : {}),
        ...(batch.paused ? { paused: true } : {}),
      });
    } else {
      say(
        `Batch ${batch.batchId}: ${batch.succeeded} of ${specs.length} VMs provisioned${batch.failed ? `, ${batch.failed} failed` : ''}${batch.notStarted ? `, ${batch.notStarted} not started` : ''}.`,
      );
      if (stopped)
        say(
          `${stopped}\n${batch.notStarted} VMs were not started, because the same failure would repeat for each. Fix it, then: vmbot resume --batch ${batch.batchId}`,
        );
      if (batch.paused) say(`Paused: the store can't be written. Once it can, continue with: vmbot resume --batch ${batch.batchId}`);
      if (batch.failed) say(`Delete the partial VMs with: vmbot cleanup --batch ${batch.batchId}`);
    }
    process.exitCode = batch.succeeded === specs.length ? EXIT.ok : EXIT.failed;
  } finally {
    await core.close();
  }
}
