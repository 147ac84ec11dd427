/**
 * What every day-2 command shares: the VM by name or key, the change checked against its schema
 * (each problem named by its flag), pre-flight, before → after and the exact calls shown, the
 * change applied once through `core.changes.apply` under a new id per invocation, and the outcome
 * printed (text, or one JSON object under --json). Exit codes as `vmbot apply`'s: 0 done, 1 VergeOS
 * refused or the outcome is unknown, 2 bad input (unknown VM, pre-flight, bad flag values).
 */
import { randomBytes } from 'node:crypto';
import { CodedError } from '../errors.js';
import { ChangeFailure, type ChangeResult } from '../provision/provisioner.js';
import type { VmRecord } from '../store/vm-record.js';
import { isVergeosError, operatorMessage } from '../vergeos/errors.js';
import { vmChangeSchema, type VmChange, type VmChangeInput } from '../vmchange/schema.js';
import type { FieldError } from '../vmspec/validate.js';
import type { ChangeCheck } from '../workflows/change-preflight.js';
import { CliExit, cliActor, confirm, EXIT, openCore, printJson, type Core } from './context.js';

/** The flag (or argument) each field of a change or a pre-flight error comes from. */
const FLAG_OF: Record<string, string> = {
  cpu_cores: '--cpu',
  ram: '--ram',
  size: '--size',
  'drive.disksize': '--size',
  tier: '--tier',
  'drive.preferred_tier': '--tier',
  'drive.interface': '--interface',
  'nic.interface': '--interface',
  media: '--cdrom',
  'drive.media_source': '--cdrom',
  name: '--name',
  'drive.name': '--name',
  'nic.name': '--name',
  to: '--to',
  disksize: '--to',
  vnet: '--vnet',
  'nic.vnet': '--vnet',
  'nic.ipaddress': '--ip',
};

/** "--ram: RAM must be …"; a field that is an argument (VM, DRIVE, SNAPSHOT) says its message alone. */
export function problemLines(errors: FieldError[]): string {
  return errors.map((e) => (FLAG_OF[e.path] ? `${FLAG_OF[e.path]}: ${e.message}` : e.message)).join('\n');
}

/** Refused before anything was sent: bad input. */
export function refused(errors: FieldError[], hint?: string): CliExit {
  return new CliExit(EXIT.badInput, `${problemLines(errors)}\nNothing was changed.${hint ? ` ${hint}` : ''}`);
}

/** The change as its schema reads it (sizes with units, names), each problem named by its flag. */
export function parseChange(input: VmChangeInput): VmChange {
  const parsed = vmChangeSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw refused(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
}

/** A new id per invocation: a retried process makes a new change (the core finishes an interrupted one first). */
export function changeId(): string {
  return `cli-${randomBytes(6).toString('hex')}`;
}

/** An error from the core as the CLI ends on it: its sentence (VergeOS's words), its exit code. */
export function asCliExit(err: unknown): unknown {
  if (err instanceof CliExit) return err;
  if (isVergeosError(err)) return new CliExit(EXIT.failed, operatorMessage(err));
  if (err instanceof CodedError) return new CliExit(err.exitCode, err.message);
  return err;
}

/** Open the core with VergeOS, find the VM, run `body`, always close. */
export async function withVm<T>(which: string, body: (core: Core, vm: VmRecord) => Promise<T>): Promise<T> {
  const core = await openCore({ withVergeos: true });
  try {
    let vm: VmRecord;
    try {
      vm = core.core!.vms.find(which);
    } catch (err) {
      throw asCliExit(err);
    }
    return await body(core, vm);
  } finally {
    await core.close();
  }
}

export interface RunOptions {
  json?: boolean | undefined;
  /** Ask before applying (unless --yes): the question, from what pre-flight found. */
  confirm?: ((checked: ChangeCheck) => string) | undefined;
  yes?: boolean | undefined;
  /** Lines said after before → after and the calls (what a restore loses). */
  notes?: string[] | undefined;
  /** A sentence after pre-flight's refusal (what else the operator may do). */
  refusedHint?: string | undefined;
  /** Sentences after it is done (the text output), from what the core returned. */
  done: (result: ChangeResult) => string[];
}

/** Pre-flight, show, confirm, apply once, print. */
export async function runChange(core: Core, vm: VmRecord, change: VmChange, opts: RunOptions): Promise<void> {
  const changes = core.core!.changes;
  const say = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
  let checked: ChangeCheck;
  try {
    checked = await changes.check(vm, change);
  } catch (err) {
    throw asCliExit(err);
  }
  if (checked.errors.length) throw refused(checked.errors, opts.refusedHint);
  // As pre-flight completed it (a restore says the size it goes back to).
  const { shown, calls } = changes.show(vm, checked.change);
  const { warnings } = checked;
  say(`${vm.name} (VM key ${vm.keys.vmKey}): ${shown}`);
  for (const call of calls) say(`  ${call}`);
  for (const note of opts.notes ?? []) say(note);
  for (const warning of warnings) say(`warning: ${warning}`);
  if (opts.confirm && !opts.yes && !(await confirm(opts.confirm(checked)))) throw new CliExit(EXIT.failed, 'Nothing was changed.');
  const base = { vm: vm.name, vmKey: vm.keys.vmKey, change: checked.change };
  let result: ChangeResult;
  try {
    const applied = await changes.apply(vm, change, cliActor(), changeId());
    if (applied.kind === 'refused') throw refused(applied.errors);
    result = applied.result;
  } catch (err) {
    if (!(err instanceof ChangeFailure)) throw asCliExit(err);
    // VergeOS refused it, or nothing tells whether it happened: on the VM's ledger, said plainly.
    if (opts.json) printJson({ ...base, status: 'failed', error: { code: err.code, message: err.message }, shown, calls, warnings });
    throw new CliExit(EXIT.failed, `${vm.name}: ${err.message}`);
  }
  const { entry } = result;
  const restartable = change.action === 'resize';
  if (opts.json) {
    printJson({
      ...base,
      status: 'done',
      ...(result.already ? { already: true } : {}),
      ...(entry.key && !restartable ? { key: entry.key } : {}),
      ...(restartable ? { needRestart: result.vm.needRestart ?? false } : {}),
      ...(entry.reconciled ? { reconciled: true } : {}),
      shown,
      calls,
      warnings,
    });
    return;
  }
  for (const line of opts.done(result)) say(line);
  if (entry.reconciled) say('(Its answer was lost on the way back; VergeOS was asked what happened: it was done, and it was not sent again.)');
}
