/**
 * `vmbot clone VM --name NEW`: a copy of a VM the bot made, as the operator's own new VM (owned by
 * them, kept as long as the source's lease terms say). Pre-flight (the name free in VergeOS and
 * not asked for by a live request, room on the tiers), the plan shown (the clone call and power
 * on), then made at once through `core.clones.apply`, as `vmbot apply` makes a VM: no policy.
 * Exit codes as `vmbot apply`'s: 0 made, 1 VergeOS refused or the run stopped, 2 bad input.
 */
import { CodedError } from '../errors.js';
import { renderPlanText } from '../plan/render.js';
import { runResult } from '../provision/result.js';
import type { VmRecord } from '../store/vm-record.js';
import { formatDuration } from '../vmspec/units.js';
import { CliExit, cliActor, confirm, EXIT, openCore, printJson, type Core } from './context.js';
import { progressPrinter } from './progress.js';

export async function cloneCommand(which: string, opts: { name: string; yes?: boolean; json?: boolean }): Promise<void> {
  // Progress goes to stderr under --json, so stdout stays one JSON object.
  const say = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
  const core = await openCore({ withVergeos: true });
  try {
    const clones = core.core!.clones;
    const vm = sourceVm(core, which);
    const checked = await clones.check(vm, opts.name);
    if (checked.errors.length) throw new CliExit(EXIT.badInput, `${checked.errors.map((e) => `--name: ${e.message}`).join('\n')}\nNothing was created.`);
    say(renderPlanText(clones.plan(vm, checked.name)));
    const lease = vm.lease ? `kept ${formatDuration(vm.lease.forMs)} once ready, as ${vm.name}'s lease terms say` : `kept until deleted, like ${vm.name}`;
    say(`The copy is yours (${cliActor()}), ${lease}.`);
    for (const warning of checked.warnings) say(`warning: ${warning}`);
    if (!opts.yes && !(await confirm(`Copy ${vm.name} as ${checked.name} in VergeOS?`))) throw new CliExit(EXIT.failed, 'Nothing was created.');
    const listener = progressPrinter(say, () => checked.name);
    let run;
    try {
      run = await clones.apply(vm, checked.name, cliActor(), listener);
    } catch (err) {
      // Refused at the last moment (the name taken meanwhile): said in its words, bad input.
      if (err instanceof CodedError && err.exitCode === EXIT.badInput) throw new CliExit(EXIT.badInput, err.message);
      throw err;
    }
    if (opts.json) printJson(runResult(run));
    process.exitCode = run.state === 'succeeded' ? EXIT.ok : EXIT.failed;
  } finally {
    await core.close();
  }
}

/** The VM to copy, by name or VM key, among those the bot made (an unknown one is bad input). */
function sourceVm(core: Core, which: string): VmRecord {
  try {
    return core.core!.vms.find(which);
  } catch (err) {
    if (err instanceof CodedError) throw new CliExit(err.exitCode, err.message);
    throw err;
  }
}
