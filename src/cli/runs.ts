import type { Command } from 'commander';
import { runResult } from '../provision/result.js';
import { summarizeSpec } from '../plan/render.js';
import { readArchive } from '../store/store.js';
import { CliExit, cliActor, confirm, EXIT, openCore, printJson } from './context.js';
import { namesByRun, progressPrinter } from './progress.js';

export function register(program: Command): void {
  program
    .command('runs')
    .description('list provisioning runs and their state')
    .option('--json', 'as JSON')
    .option('--all', 'include archived runs (finished over 30 days ago)')
    .action(async (opts: { json?: boolean; all?: boolean }) => {
      const core = await openCore({ withVergeos: false, readOnly: true });
      try {
        const runs = [...(opts.all ? await readArchive(core.env.DATA_DIR, 'runs') : []), ...core.store.listRuns()];
        if (opts.json) return printJson(runs.map(runResult));
        if (!runs.length) return void process.stdout.write('No runs yet.\n');
        for (const run of runs) {
          const keys = run.keys.vmKey ? `vm ${run.keys.vmKey} / machine ${run.keys.machineKey}` : 'no VM yet';
          process.stdout.write(`${run.id}  ${run.state.padEnd(11)} ${run.spec.vm.name.padEnd(24)} ${keys.padEnd(24)} ${summarizeSpec(run.spec)}  (${run.actor}, ${run.updatedAt})\n`);
          if (run.error) process.stdout.write(`    ${run.error.message}\n`);
        }
      } finally {
        await core.close();
      }
    });

  program
    .command('resume')
    .description('continue an interrupted or failed run from where it stopped (nothing is created twice)')
    .argument('[run]', 'run id')
    .option('--all', 'every run that was interrupted (state running)')
    .option('--json', 'print the result(s) as one JSON object')
    .action(async (runId: string | undefined, opts: { all?: boolean; json?: boolean }) => {
      const core = await openCore({ withVergeos: true });
      try {
        const targets = opts.all ? core.provisioner!.interruptedRuns().filter((r) => r.state === 'running') : runId ? [core.store.getRun(runId)] : [];
        if (!opts.all && !runId) throw new CliExit(EXIT.badInput, 'name a run id (see `vmbot runs`) or pass --all');
        if (targets.some((t) => t === undefined)) throw new CliExit(EXIT.badInput, `no run ${runId} (see \`vmbot runs\`)`);
        const say = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
        const listener = progressPrinter(say, namesByRun(targets.map((t) => t!)));
        const done = [];
        for (const target of targets) {
          if (!['pending', 'running', 'failed'].includes(target!.state)) throw new CliExit(EXIT.badInput, `run ${target!.id} is ${target!.state}; only pending, interrupted or failed runs can be resumed`);
          done.push(await core.provisioner!.execute(target!.id, listener, cliActor()));
        }
        const results = done.map(runResult);
        if (opts.json) printJson(results.length === 1 ? results[0] : { runs: results });
        else if (!results.length) say('Nothing to resume.');
        process.exitCode = results.every((r) => r.state === 'succeeded') ? EXIT.ok : EXIT.failed;
      } finally {
        await core.close();
      }
    });

  program
    .command('cleanup')
    .description('delete the partial VM of a failed run (stops it first if it is running)')
    .argument('<run>', 'run id')
    .option('--yes', 'do not ask for confirmation')
    .action(async (runId: string, opts: { yes?: boolean }) => {
      const core = await openCore({ withVergeos: true });
      try {
        const run = core.store.getRun(runId);
        if (!run) throw new CliExit(EXIT.badInput, `no run ${runId} (see \`vmbot runs\`)`);
        if (run.state !== 'failed' && run.state !== 'cleaning_up') throw new CliExit(EXIT.badInput, `run ${runId} is ${run.state}; only a failed run can be cleaned up`);
        const target = run.keys.vmKey ? `VM ${run.spec.vm.name} (VM key ${run.keys.vmKey}) with its drives, NICs and devices` : `whatever run ${runId} created`;
        if (!opts.yes && !(await confirm(`Delete ${target}?`))) throw new CliExit(EXIT.failed, 'Nothing was deleted.');
        const after = await core.provisioner!.cleanup(runId, cliActor());
        if (after.state !== 'cleaned_up') throw new CliExit(EXIT.failed, after.error?.message ?? 'cleanup failed');
        process.stdout.write(`Cleaned up run ${runId}: ${run.keys.vmKey ? `deleted VM ${run.spec.vm.name} (VM key ${run.keys.vmKey})` : 'nothing had been created'}.\n`);
      } finally {
        await core.close();
      }
    });
}
