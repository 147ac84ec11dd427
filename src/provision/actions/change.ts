/**
 * Day-2 action: change a VM the bot made (resize, a drive or NIC added, a disk grown, a snapshot
 * taken, restored or deleted), exactly once. The change is saved `in_flight` on the VM record (a
 * compare-and-set, durable) before its VergeOS call; an unknown outcome is looked up, never
 * re-sent blind; a change a stopped process left `in_flight` is finished (looked up first) before
 * anything else changes the VM. One change per VM at a time (the run's claim, as power takes it).
 */
import { CodedError, EXIT, isConflict } from '../../errors.js';
import type { VmRecord } from '../../store/vm-record.js';
import { vmIdOf } from '../../store/vm-record.js';
import { describeChange } from '../../vmchange/describe.js';
import type { ChangeEntry, VmChange } from '../../vmchange/schema.js';
import { isVergeosError, operatorMessage } from '../../vergeos/errors.js';
import { CHANGE_HANDLERS } from '../changes/index.js';
import type { ChangeHandler, ChangeOutcome, ChangeTarget } from '../changes/handler.js';
import type { ProvisionContext } from '../context.js';
import { RunBusyError } from '../errors.js';

export interface AskedChange {
  /** One per click, command or approved request: asking again with the same id acts once. */
  id: string;
  change: VmChange;
  actor: string;
  requestId?: string | undefined;
  /** What allowed it, for the record: `rule small-resize`, `REQ-12, approved by U…` (absent: the operator's CLI). */
  approval?: string | undefined;
}

/** How a change ended: done (perhaps earlier: `already`), with the VM record after it. */
export interface ChangeResult {
  vm: VmRecord;
  entry: ChangeEntry;
  /** It was done before this call (a second click, a retried command): nothing was sent now. */
  already: boolean;
}

/** A change VergeOS refused, or whose outcome nothing can tell; recorded on the VM's ledger first. */
export class ChangeFailure extends CodedError {
  override name = 'ChangeFailure';
  constructor(
    code: string,
    message: string,
    readonly vm: VmRecord,
    readonly entry: ChangeEntry,
  ) {
    super(code, message, { exitCode: EXIT.failed });
  }
}

export async function applyChange(ctx: ProvisionContext, runId: string, asked: AskedChange): Promise<ChangeResult> {
  const name = ctx.runs.requireVm(runId).name;
  await ctx.claims.take(runId, `${name} is busy with another action; wait for it`);
  try {
    let vm = ctx.runs.requireVm(runId);
    // A change a stopped process left mid-call is finished first: it may have happened.
    for (const earlier of (vm.changes ?? []).filter((e) => e.status === 'in_flight' && e.id !== asked.id && e.attempts > 0)) {
      vm = (await settleInterrupted(ctx, runId, earlier)).vm;
    }
    const existing = vm.changes?.find((e) => e.id === asked.id);
    if (existing?.status === 'done') return { vm, entry: existing, already: true };
    if (existing?.status === 'in_flight' && existing.attempts === 0) return await sendReserved(ctx, vm, existing);
    if (existing?.status === 'failed') throw new ChangeFailure(existing.error?.code ?? 'CHANGE_FAILED', existing.error?.message ?? 'it failed', vm, existing);
    if (existing) return await settleInterrupted(ctx, runId, existing);
    targetOf(vm); // a VM without a machine key can't be changed: said before anything is saved
    if (vm.state !== 'live') throw new RunBusyError(`${vm.name} is ${vm.state === 'deleting' ? 'being deleted' : vm.state}; nothing was changed`);
    vm = await reserve(ctx, vm, asked, 1);
    return await send(
      ctx,
      runId,
      vm,
      vm.changes!.find((e) => e.id === asked.id)!,
    );
  } finally {
    await ctx.claims.drop(runId);
  }
}

/**
 * Write the change `in_flight` with no attempt yet (the policy allowed it: from now on quotas count
 * it), refused while another change of the VM is under way. `applyChange` with its id sends it.
 */
export async function reserveChange(ctx: ProvisionContext, runId: string, asked: AskedChange): Promise<VmRecord> {
  const vm = ctx.runs.requireVm(runId);
  if (vm.changes?.some((e) => e.id === asked.id)) return vm;
  return reserve(ctx, vm, asked, 0);
}

async function reserve(ctx: ProvisionContext, vm: VmRecord, asked: AskedChange, attempts: number): Promise<VmRecord> {
  if (vm.state !== 'live') throw new RunBusyError(`${vm.name} is ${vm.state === 'deleting' ? 'being deleted' : vm.state}; nothing was changed`);
  const entry: ChangeEntry = {
    id: asked.id,
    change: asked.change,
    actor: asked.actor,
    ...(asked.requestId ? { requestId: asked.requestId } : {}),
    ...(asked.approval ? { approval: asked.approval } : {}),
    status: 'in_flight',
    attempts,
    at: new Date().toISOString(),
  };
  return writeVm(ctx, vm, (v) => {
    const busy = v.changes?.find((e) => e.status === 'in_flight' && e.id !== asked.id);
    if (busy) throw new RunBusyError(`${v.name} is being changed (${describeChange(busy.change)}); wait for it, then ask again`);
    if (v.state !== 'live') throw new RunBusyError(`${v.name} is ${v.state === 'deleting' ? 'being deleted' : v.state}; nothing was changed`);
    if (!v.changes?.some((e) => e.id === asked.id)) v.changes = [...(v.changes ?? []), entry];
  });
}

/**
 * Withdraw a reservation never sent (its asker could not take the VM: busy). A compare-and-set
 * against `sendReserved`'s: either this removes it and nothing is sent, or it was sent and stays.
 */
export async function withdrawReservedChange(ctx: ProvisionContext, runId: string, id: string): Promise<void> {
  const vm = ctx.runs.requireVm(runId);
  const reserved = (e: ChangeEntry) => e.id === id && e.status === 'in_flight' && e.attempts === 0;
  if (!vm.changes?.some(reserved)) return;
  await writeVm(ctx, vm, (v) => {
    v.changes = v.changes?.filter((e) => !reserved(e));
  });
}

/** A reserved change (never sent): its first attempt saved, then sent (refused if it was withdrawn meanwhile). */
async function sendReserved(ctx: ProvisionContext, vm: VmRecord, entry: ChangeEntry): Promise<ChangeResult> {
  const sending = await writeVm(ctx, vm, (v) => {
    const e = v.changes?.find((c) => c.id === entry.id);
    if (!e || e.status !== 'in_flight') throw new RunBusyError(`${v.name}: the change was withdrawn before it was sent; nothing was sent`);
    e.attempts = Math.max(1, e.attempts);
  });
  return send(ctx, vm.runId, sending, { ...entry, attempts: 1 });
}

/** Changes left `in_flight` (a stopped process): finished now, each looked up before anything is sent. */
export async function resumeChanges(ctx: ProvisionContext, runId: string): Promise<ChangeResult[]> {
  const vm = ctx.runs.requireVm(runId);
  const pending = (vm.changes ?? []).filter((e) => e.status === 'in_flight');
  if (!pending.length) return [];
  try {
    await ctx.claims.take(runId, `${vm.name} is busy with another action`);
  } catch (err) {
    // Another process (or this one) is on it: it finishes them.
    if (err instanceof RunBusyError) return [];
    throw err;
  }
  const results: ChangeResult[] = [];
  try {
    for (const entry of pending) results.push(await settleInterrupted(ctx, runId, entry).catch((err: unknown) => failedResult(err)));
  } finally {
    await ctx.claims.drop(runId);
  }
  return results;
}

function failedResult(err: unknown): ChangeResult {
  if (err instanceof ChangeFailure) return { vm: err.vm, entry: err.entry, already: false };
  throw err;
}

function targetOf(vm: VmRecord): ChangeTarget {
  if (!vm.keys.machineKey) throw new CodedError('VM_NO_MACHINE', `${vm.name} has no machine key on record; nothing was changed`);
  return { vmKey: vm.keys.vmKey, machineKey: vm.keys.machineKey };
}

function handlerOf(change: VmChange): ChangeHandler<VmChange['action']> {
  return CHANGE_HANDLERS[change.action] as ChangeHandler<VmChange['action']>;
}

/** An entry found `in_flight`: look first; found is done, nothing there is sent (once more), unknowable fails. */
async function settleInterrupted(ctx: ProvisionContext, runId: string, entry: ChangeEntry): Promise<ChangeResult> {
  const vm = ctx.runs.requireVm(runId);
  if (entry.attempts === 0) return sendReserved(ctx, vm, entry);
  const found = await handlerOf(entry.change).lookUp(ctx, targetOf(vm), entry.change);
  if (found === 'unknowable') return fail(ctx, runId, entry, 'CHANGE_OUTCOME_UNKNOWN', unknowableSentence(entry));
  if (found) return finish(ctx, runId, entry, found, true);
  const again = await writeVm(ctx, vm, (v) => {
    const e = v.changes?.find((c) => c.id === entry.id);
    if (e) e.attempts++;
  });
  return send(ctx, runId, again, { ...entry, attempts: entry.attempts + 1 });
}

function unknowableSentence(entry: ChangeEntry): string {
  return `the bot stopped while VergeOS was asked to ${describeChange(entry.change)}, and nothing in VergeOS tells whether it happened; it was not sent again. Check the VM, then ask again if needed`;
}

async function send(ctx: ProvisionContext, runId: string, vm: VmRecord, entry: ChangeEntry): Promise<ChangeResult> {
  const handler = handlerOf(entry.change);
  const target = targetOf(vm);
  let outcome: ChangeOutcome;
  try {
    outcome = await handler.send(ctx, target, entry.change);
  } catch (err) {
    if (!(isVergeosError(err) && err.outcomeUnknown)) return fail(ctx, runId, entry, codeOf(err), sentenceOf(err));
    // The answer was lost: look, never re-send. A lookup that fails leaves it in flight for later.
    const found = await handler.lookUp(ctx, target, entry.change);
    if (found === 'unknowable') return fail(ctx, runId, entry, 'CHANGE_OUTCOME_UNKNOWN', unknowableSentence(entry));
    if (!found) return fail(ctx, runId, entry, err.code, `${operatorMessage(err)} It was looked up: it did not happen; ask again`);
    return finish(ctx, runId, entry, found, true);
  }
  return finish(ctx, runId, entry, outcome, false);
}

function codeOf(err: unknown): string {
  return err instanceof CodedError ? err.code : 'CHANGE_FAILED';
}

function sentenceOf(err: unknown): string {
  if (isVergeosError(err)) return operatorMessage(err);
  return (err as Error).message;
}

async function finish(ctx: ProvisionContext, runId: string, entry: ChangeEntry, outcome: ChangeOutcome, reconciled: boolean): Promise<ChangeResult> {
  const handler = handlerOf(entry.change);
  const vm = await writeVm(ctx, ctx.runs.requireVm(runId), (v) => {
    const e = v.changes!.find((c) => c.id === entry.id)!;
    e.status = 'done';
    e.at = new Date().toISOString();
    if (outcome.key) e.key = outcome.key;
    if (outcome.note) e.note = outcome.note;
    if (reconciled) e.reconciled = true;
    handler.apply(v, entry.change, outcome);
  });
  const done = vm.changes!.find((c) => c.id === entry.id)!;
  await ctx.records.recordOrHold(ctx.runs.require(runId), entry.actor, `vm.${entry.change.action}`, 'ok', changeDetail(done, vm));
  return { vm, entry: done, already: false };
}

async function fail(ctx: ProvisionContext, runId: string, entry: ChangeEntry, code: string, message: string): Promise<never> {
  const vm = await writeVm(ctx, ctx.runs.requireVm(runId), (v) => {
    const e = v.changes!.find((c) => c.id === entry.id)!;
    e.status = 'failed';
    e.at = new Date().toISOString();
    e.error = { code, message };
  });
  const failed = vm.changes!.find((c) => c.id === entry.id)!;
  await ctx.records.recordOrHold(ctx.runs.require(runId), entry.actor, `vm.${entry.change.action}`, 'failed', `${describeChange(entry.change)}: ${message}`);
  throw new ChangeFailure(code, message, vm, failed);
}

/** The audit detail: what changed, and what VergeOS made. */
function changeDetail(entry: ChangeEntry, vm: VmRecord): string {
  const parts = [describeChange(entry.change)];
  if (entry.key && entry.change.action !== 'resize') parts.push(`key ${entry.key}`);
  if (entry.reconciled) parts.push('found after an unknown outcome, not sent again');
  if (vm.needRestart) parts.push('takes effect at the next power cycle');
  if (entry.note) parts.push(entry.note);
  if (entry.approval) parts.push(`allowed by ${entry.approval}`);
  return parts.join('; ');
}

/** A compare-and-set on the VM record (read again on a conflict: another field changed meanwhile). */
async function writeVm(ctx: ProvisionContext, vm: VmRecord, mutate: (v: VmRecord) => void): Promise<VmRecord> {
  const id = vmIdOf(vm.runId);
  for (let attempt = 0, current = vm; ; attempt++) {
    try {
      return await ctx.store.updateVm(id, { version: current.version }, mutate);
    } catch (err) {
      if (!isConflict(err) || attempt >= 4) throw err;
      await ctx.store.catchUp('vms', id);
      current = ctx.store.getVm(id) ?? current;
    }
  }
}
