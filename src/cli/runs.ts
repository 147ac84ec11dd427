import { runResult } from '../provision/result.js';
import { summarizeSpec } from '../plan/render.js';
import { CliExit, cliActor, confirm, EXIT, openCore, printJson } from './context.js';
import { namesByRun, progressPrinter } from './progress.js';
import { cleanupRuns, leftPartialVm, runBatch } from '../batches/batch.js';
import { sizeOf } from './json.js';
import { ownerOf, vmIdOf, type RunRecord, type VmRecord } from '../store/records.js';
import { isCleanable, isExecutable } from '../store/run-states.js';

/** One run as `runs --json` prints it: what the text list shows (README: the fields it lists); owner and gone from its VM's record. */
function runJson(run: RunRecord, vm: VmRecord | undefined) {
  const { error, ...result } = runResult(run);
  return {
    ...result,
    batchId: run.group ?? null,
    requestId: run.requestId ?? null,
    requester: run.actor,
    owner: vm?.owner ?? ownerOf(run),
    size: sizeOf(run.spec),
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    goneAt: vm?.goneAt ?? run.goneAt ?? null,
    ...(error ? { error } : {}),
  };
}

export async function runsCommand(opts: { json?: boolean; all?: boolean }): Promise<void> {
  const core = await openCore({ withVergeos: false, readOnly: true });
  try {
    const runs = [...(opts.all ? await core.store.readArchived('runs') : []), ...core.store.listRuns()];
    const archivedVms = new Map((opts.all ? await core.store.readArchived('vms') : []).map((v) => [v.id, v]));
    const vmOf = (run: RunRecord) => core.store.getVm(vmIdOf(run.id)) ?? archivedVms.get(vmIdOf(run.id));
    if (opts.json) return printJson(runs.map((run) => runJson(run, vmOf(run))));
    if (!runs.length) return void process.stdout.write('No runs yet.\n');
    for (const run of runs) {
      const keys = run.keys.vmKey ? `vm ${run.keys.vmKey} / machine ${run.keys.machineKey}` : 'no VM yet';
      process.stdout.write(
        `${run.id}  ${run.state.padEnd(11)}${run.group ? ` ${run.group}` : ''} ${run.spec.vm.name.padEnd(24)} ${keys.padEnd(24)} ${summarizeSpec(run.spec)}  (${run.actor}, ${run.updatedAt})\n`,
      );
      if (run.error) process.stdout.write(`    ${run.error.message}\n`);
      const goneAt = vmOf(run)?.goneAt ?? run.goneAt;
      if (goneAt) process.stdout.write(`    its VM was deleted outside the bot (noticed ${goneAt})\n`);
    }
  } finally {
    await core.close();
  }
}

export async function resumeCommand(runId: string | undefined, opts: { all?: boolean; batch?: string; concurrency: number; json?: boolean }): Promise<void> {
  const core = await openCore({ withVergeos: true });
  try {
    const say = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
    if (opts.batch) {
      const runs = core.provisioner!.runsOfBatch(opts.batch);
      if (!runs.length) throw new CliExit(EXIT.badInput, `no batch ${opts.batch} (see \`vmbot runs\`)`);
      const again = runs.filter((r) => isExecutable(r.state));
      const batch = await runBatch(
        core.provisioner!,
        opts.batch,
        again.map((r) => r.id),
        { actor: cliActor(), concurrency: opts.concurrency, listener: progressPrinter(say, namesByRun(runs)) },
      );
      if (opts.json)
        printJson({ batchId: batch.batchId, runs: batch.runs.map(runResult), succeeded: batch.succeeded, failed: batch.failed, notStarted: batch.notStarted });
      else
        say(
          `Batch ${batch.batchId}: ${batch.succeeded} of ${runs.length} VMs provisioned${batch.failed ? `, ${batch.failed} failed` : ''}${batch.notStarted ? `, ${batch.notStarted} not started` : ''}.`,
        );
      process.exitCode = batch.succeeded === runs.length ? EXIT.ok : EXIT.failed;
      return;
    }
    const targets = opts.all ? core.provisioner!.interruptedRuns().filter((r) => r.state === 'running') : runId ? [core.store.getRun(runId)] : [];
    if (!opts.all && !runId) throw new CliExit(EXIT.badInput, 'name a run id (see `vmbot runs`), or pass --batch ID or --all');
    if (targets.some((t) => t === undefined)) throw new CliExit(EXIT.badInput, `no run ${runId} (see \`vmbot runs\`)`);
    const listener = progressPrinter(say, namesByRun(targets.map((t) => t!)));
    const done = [];
    for (const target of targets) {
      if (!isExecutable(target!.state))
        throw new CliExit(EXIT.badInput, `run ${target!.id} is ${target!.state}; only pending, interrupted, failed or not-started runs can be resumed`);
      done.push(await core.provisioner!.execute(target!.id, listener, cliActor()));
    }
    const results = done.map(runResult);
    if (opts.json) printJson(results.length === 1 ? results[0] : { runs: results });
    else if (!results.length) say('Nothing to resume.');
    process.exitCode = results.every((r) => r.state === 'succeeded') ? EXIT.ok : EXIT.failed;
  } finally {
    await core.close();
  }
}

export async function cleanupCommand(
  runId: string | undefined,
  opts: { batch?: string; allFailed?: boolean; concurrency: number; yes?: boolean },
): Promise<void> {
  if ([runId, opts.batch, opts.allFailed].filter(Boolean).length !== 1)
    throw new CliExit(EXIT.badInput, 'name one run id, or pass --batch ID, or --all-failed');
  const core = await openCore({ withVergeos: true });
  try {
    let runs: RunRecord[];
    if (runId) {
      const run = core.store.getRun(runId);
      if (!run) throw new CliExit(EXIT.badInput, `no run ${runId} (see \`vmbot runs\`)`);
      if (!isCleanable(run.state)) throw new CliExit(EXIT.badInput, `run ${runId} is ${run.state}; only a failed run can be cleaned up`);
      runs = [run];
    } else {
      const all = opts.batch ? core.provisioner!.runsOfBatch(opts.batch) : core.store.listRuns();
      if (opts.batch && !all.length) throw new CliExit(EXIT.badInput, `no batch ${opts.batch} (see \`vmbot runs\`)`);
      runs = all.filter((r) => isCleanable(r.state));
      if (!runs.length) return void process.stdout.write(`Nothing to clean up${opts.batch ? ` in batch ${opts.batch}` : ''}.\n`);
    }
    const partial = runs.filter(leftPartialVm);
    const what =
      runs.length === 1 && runId
        ? partial.length
          ? `VM ${runs[0]!.spec.vm.name}${runs[0]!.keys.vmKey ? ` (VM key ${runs[0]!.keys.vmKey})` : ''} with its drives, NICs and devices`
          : `whatever run ${runId} created`
        : `${partial.length} partial VM${partial.length === 1 ? '' : 's'} (${partial
            .slice(0, 5)
            .map((r) => r.spec.vm.name)
            .join(', ')}${partial.length > 5 ? ', …' : ''}) and close ${runs.length} failed or not-started run${runs.length === 1 ? '' : 's'}`;
    if (!opts.yes && !(await confirm(`Delete ${what}?`))) throw new CliExit(EXIT.failed, 'Nothing was deleted.');
    const outcome = await cleanupRuns(core.provisioner!, runs, { actor: cliActor(), concurrency: opts.concurrency });
    for (const run of outcome.cleaned)
      process.stdout.write(
        `Cleaned up run ${run.id}: ${run.keys.vmKey ? `deleted VM ${run.spec.vm.name} (VM key ${run.keys.vmKey})` : `${run.spec.vm.name}: nothing had been created`}.\n`,
      );
    if (outcome.cleaned.length > 1) {
      const deleted = outcome.cleaned.filter((r) => r.keys.vmKey).length;
      process.stdout.write(
        `Deleted ${deleted} partial VM${deleted === 1 ? '' : 's'}; closed ${outcome.cleaned.length - deleted} run${outcome.cleaned.length - deleted === 1 ? '' : 's'} that had created nothing.\n`,
      );
    }
    for (const run of outcome.stillFailed) process.stderr.write(`${run.id} (${run.spec.vm.name}): ${run.error?.message ?? 'cleanup failed'}\n`);
    if (outcome.stillFailed.length)
      throw new CliExit(EXIT.failed, `${outcome.stillFailed.length} cleanup(s) failed; run the same command again to retry them.`);
  } finally {
    await core.close();
  }
}
