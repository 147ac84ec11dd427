/**
 * The VM record's ledger of changes, written by compare-and-set: reserve an entry (refused while
 * another is under way), record each attempt before its call, and settle it done (with its effect
 * on the configuration) or failed (with the operator's sentence), each with its audit record.
 */
import { CodedError, EXIT, isConflict } from '../../errors.js';
import { vmIdOf, type VmRecord } from '../../store/vm-record.js';
import { describeChange } from '../../vmchange/describe.js';
import type { ChangeEntry, VmChange } from '../../vmchange/schema.js';
import { CHANGE_HANDLERS } from '../changes/index.js';
import type { ChangeHandler, ChangeOutcome } from '../changes/handler.js';
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

export function handlerOf(change: VmChange): ChangeHandler<VmChange['action']> {
  return CHANGE_HANDLERS[change.action] as ChangeHandler<VmChange['action']>;
}

const notLive = (vm: VmRecord) => new RunBusyError(`${vm.name} is ${vm.state === 'deleting' ? 'being deleted' : vm.state}; nothing was changed`);

/**
 * The entry of `asked.id`, added `in_flight` with `attempts` unless it is there already (then as
 * it is: done, failed, or under way). Refused while another change of the VM is under way.
 */
export async function reserve(
  ctx: ProvisionContext,
  vm: VmRecord,
  asked: AskedChange,
  attempts: number,
): Promise<{ vm: VmRecord; entry: ChangeEntry; created: boolean }> {
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
  let created = false;
  const after = await writeVm(ctx, vm, (v) => {
    created = false;
    if (v.changes?.some((e) => e.id === asked.id)) return;
    const busy = v.changes?.find((e) => e.status === 'in_flight');
    if (busy) throw new RunBusyError(`${v.name} is being changed (${describeChange(busy.change)}); wait for it, then ask again`);
    if (v.state !== 'live') throw notLive(v);
    v.changes = [...(v.changes ?? []), entry];
    created = true;
  });
  return { vm: after, entry: after.changes!.find((e) => e.id === asked.id)!, created };
}

/** One more attempt of an entry, saved before its call: refused if it was withdrawn (or settled) meanwhile. */
export async function recordAttempt(ctx: ProvisionContext, vm: VmRecord, id: string): Promise<{ vm: VmRecord; entry: ChangeEntry }> {
  const after = await writeVm(ctx, vm, (v) => {
    const e = v.changes?.find((c) => c.id === id);
    if (e?.status !== 'in_flight') throw new RunBusyError(`${v.name}: the change was withdrawn or settled meanwhile; nothing was sent`);
    e.attempts++;
  });
  return { vm: after, entry: after.changes!.find((e) => e.id === id)! };
}

/** Withdraw a reservation never sent; an entry that was sent (or settled) stays. */
export async function withdraw(ctx: ProvisionContext, vm: VmRecord, id: string): Promise<void> {
  const reserved = (e: ChangeEntry) => e.id === id && e.status === 'in_flight' && e.attempts === 0;
  if (!vm.changes?.some(reserved)) return;
  await writeVm(ctx, vm, (v) => {
    v.changes = v.changes?.filter((e) => !reserved(e));
  });
}

export async function finish(ctx: ProvisionContext, runId: string, entry: ChangeEntry, outcome: ChangeOutcome, reconciled: boolean): Promise<ChangeResult> {
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

export async function fail(ctx: ProvisionContext, runId: string, entry: ChangeEntry, code: string, message: string): Promise<never> {
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

export { notLive };
