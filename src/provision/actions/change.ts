/**
 * Day-2 action: change a VM the bot made (resize, a drive or NIC added, a disk grown, a snapshot
 * taken, restored or deleted), exactly once. The change is saved `in_flight` on the VM record (a
 * compare-and-set, durable) before its VergeOS call; an unknown outcome is looked up, never
 * re-sent blind (one VergeOS turned away — a 429, a dropped connection — and not done is sent
 * again, a few times at most); a change a stopped process left `in_flight` is finished (looked up first) before
 * anything else changes the VM. One change per VM at a time, under the run's claim (as power
 * takes it), read fresh from the store once the claim is held (another process may have moved it).
 */
import { CodedError } from '../../errors.js';
import { vmIdOf, type VmRecord } from '../../store/vm-record.js';
import { describeChange } from '../../vmchange/describe.js';
import type { ChangeEntry } from '../../vmchange/schema.js';
import { isVergeosError, operatorMessage } from '../../vergeos/errors.js';
import type { ChangeOutcome, ChangeTarget } from '../changes/handler.js';
import type { ProvisionContext } from '../context.js';
import { RunBusyError } from '../errors.js';
import { MAX_SENDS, turnedAway, turnedAwayReason } from '../turned-away.js';
import { ChangeFailure, fail, finish, handlerOf, notLive, recordAttempt, reserve, withdraw, type AskedChange, type ChangeResult } from './change-ledger.js';

export { ChangeFailure, type AskedChange, type ChangeResult } from './change-ledger.js';

/** Take the VM's claim, then read its record as the store has it now. */
async function takeFresh(ctx: ProvisionContext, runId: string): Promise<VmRecord> {
  await ctx.claims.take(runId, `${ctx.runs.requireVm(runId).name} is busy with another action; wait for it`);
  await ctx.store.catchUp('vms', vmIdOf(runId));
  return ctx.runs.requireVm(runId);
}

export async function applyChange(ctx: ProvisionContext, runId: string, asked: AskedChange): Promise<ChangeResult> {
  let vm = await takeFresh(ctx, runId);
  try {
    targetOf(vm); // a VM without a machine key can't be changed: said before anything is sent
    // A change a stopped process left mid-call is finished first (it may have happened). Its own
    // outcome is on the ledger and in the audit log; this change goes on.
    for (const earlier of (vm.changes ?? []).filter((e) => e.status === 'in_flight' && e.id !== asked.id && e.attempts > 0)) {
      vm = await settleInterrupted(ctx, runId, earlier).then(
        (r) => r.vm,
        (err: unknown) => {
          if (err instanceof ChangeFailure) return err.vm;
          throw err;
        },
      );
    }
    if (!vm.changes?.some((e) => e.id === asked.id) && vm.state !== 'live') throw notLive(vm);
    const { vm: reserved, entry, created } = await reserve(ctx, vm, asked, 0);
    return await dispatch(ctx, runId, reserved, entry, created);
  } finally {
    await ctx.claims.drop(runId);
  }
}

/** What to do with the entry of this id as it stands: done and failed answer as they are; never sent is sent; sent before is looked up. */
async function dispatch(ctx: ProvisionContext, runId: string, vm: VmRecord, entry: ChangeEntry, created: boolean): Promise<ChangeResult> {
  if (entry.status === 'done') return { vm, entry, already: !created };
  if (entry.status === 'failed') throw new ChangeFailure(entry.error?.code ?? 'CHANGE_FAILED', entry.error?.message ?? 'it failed', vm, entry);
  if (entry.attempts === 0) return firstSend(ctx, runId, vm, entry);
  return settleInterrupted(ctx, runId, entry);
}

/**
 * Write the change `in_flight` with no attempt yet (the policy allowed it: from now on quotas count
 * it), refused while another change of the VM is under way. `applyChange` with its id sends it.
 */
export async function reserveChange(ctx: ProvisionContext, runId: string, asked: AskedChange): Promise<VmRecord> {
  const vm = ctx.runs.requireVm(runId);
  targetOf(vm);
  if (vm.state !== 'live' && !vm.changes?.some((e) => e.id === asked.id)) throw notLive(vm);
  return (await reserve(ctx, vm, asked, 0)).vm;
}

/**
 * Withdraw a reservation never sent (its asker could not go on). A compare-and-set against the
 * first attempt's: either this removes it and nothing is sent, or it was sent and stays.
 */
export async function withdrawReservedChange(ctx: ProvisionContext, runId: string, id: string): Promise<void> {
  await ctx.store.catchUp('vms', vmIdOf(runId));
  await withdraw(ctx, ctx.runs.requireVm(runId), id);
}

/** Changes left `in_flight` (a stopped process): finished now, each looked up before anything is sent. */
export async function resumeChanges(ctx: ProvisionContext, runId: string): Promise<ChangeResult[]> {
  if (!ctx.runs.requireVm(runId).changes?.some((e) => e.status === 'in_flight')) return [];
  let vm: VmRecord;
  try {
    vm = await takeFresh(ctx, runId);
  } catch (err) {
    // Another process (or this one) is on it: it finishes them.
    if (err instanceof RunBusyError) return [];
    throw err;
  }
  const results: ChangeResult[] = [];
  try {
    for (const entry of (vm.changes ?? []).filter((e) => e.status === 'in_flight')) {
      try {
        results.push(await settleInterrupted(ctx, runId, entry));
      } catch (err) {
        if (err instanceof ChangeFailure) results.push({ vm: err.vm, entry: err.entry, already: false });
        // VergeOS can't be asked now: it stays in flight, for the next pass.
        else ctx.logger?.warn({ runId, change: entry.id, err: (err as Error).message }, 'a change left in flight could not be settled yet');
      }
    }
  } finally {
    await ctx.claims.drop(runId);
  }
  return results;
}

function targetOf(vm: VmRecord): ChangeTarget {
  if (!vm.keys.machineKey) throw new CodedError('VM_NO_MACHINE', `${vm.name} has no machine key on record, so the bot can't change it; nothing was changed`);
  return { vmKey: vm.keys.vmKey, machineKey: vm.keys.machineKey };
}

/** Keys other changes of this VM made (a lookup by name must never adopt one of those). */
function othersKeys(vm: VmRecord, id: string): ReadonlySet<string> {
  return new Set((vm.changes ?? []).filter((e) => e.id !== id && e.key).map((e) => e.key!));
}

/** An entry found `in_flight` after an attempt: look first; found is done, nothing there is sent (once more), unknowable fails. */
async function settleInterrupted(ctx: ProvisionContext, runId: string, entry: ChangeEntry): Promise<ChangeResult> {
  const vm = ctx.runs.requireVm(runId);
  if (entry.attempts === 0) return firstSend(ctx, runId, vm, entry);
  const found = await lookUp(ctx, runId, vm, entry, 'stopped');
  if (found) return finish(ctx, runId, entry, found, true);
  const again = await recordAttempt(ctx, vm, entry.id);
  return send(ctx, runId, again.vm, again.entry);
}

/**
 * The first attempt: a name that was free at pre-flight and is taken now (someone made a drive,
 * NIC or snapshot of that name meanwhile) fails it, so a later lookup can never adopt theirs.
 */
async function firstSend(ctx: ProvisionContext, runId: string, vm: VmRecord, entry: ChangeEntry): Promise<ChangeResult> {
  const handler = handlerOf(entry.change);
  const taken = handler.nameTaken ? await handler.nameTaken(ctx, targetOf(vm), entry.change) : undefined;
  if (taken) return fail(ctx, runId, entry, 'CHANGE_NAME_TAKEN', `${taken}; nothing was sent`);
  const sending = await recordAttempt(ctx, vm, entry.id);
  return send(ctx, runId, sending.vm, sending.entry);
}

/** `sends`: this call's place among the sends of the entry in this go (the first is 1). */
async function send(ctx: ProvisionContext, runId: string, vm: VmRecord, entry: ChangeEntry, sends = 1): Promise<ChangeResult> {
  let outcome: ChangeOutcome;
  try {
    outcome = await handlerOf(entry.change).send(ctx, targetOf(vm), entry.change);
  } catch (err) {
    if (!(isVergeosError(err) && err.outcomeUnknown)) return fail(ctx, runId, entry, codeOf(err), sentenceOf(err));
    // The answer was lost: look, never re-send blind. A lookup VergeOS can't answer leaves it in flight.
    const found = await lookUp(ctx, runId, vm, entry, 'lost');
    if (found) return finish(ctx, runId, entry, found, true);
    // Turned away (429, a dropped connection) and confirmed not done: sent again, a few times at most,
    // each attempt saved first (a compare-and-set: a stop in between leads to a lookup).
    if (!turnedAway(err) || sends >= MAX_SENDS)
      return fail(ctx, runId, entry, err.code, `${operatorMessage(err)} It was looked up: it did not happen; ask again`);
    const detail = `${describeChange(entry.change)}: ${turnedAwayReason(err)} and a lookup found it not done; sending it again (send ${sends + 1} of at most ${MAX_SENDS})`;
    ctx.logger?.info({ runId, change: entry.id, code: err.code, transportCode: err.transportCode, sends }, detail);
    const again = await recordAttempt(ctx, vm, entry.id);
    await ctx.records.recordOrHold(ctx.runs.require(runId), 'vmbot', 'vm.change_resent', 'info', detail);
    return send(ctx, runId, again.vm, again.entry, sends + 1);
  }
  return finish(ctx, runId, entry, outcome, false);
}

/** What VergeOS shows of a change; a definite answer that it can't be there (gone, unknowable) fails it. */
async function lookUp(ctx: ProvisionContext, runId: string, vm: VmRecord, entry: ChangeEntry, why: 'stopped' | 'lost'): Promise<ChangeOutcome | undefined> {
  let found: ChangeOutcome | undefined | 'unknowable';
  try {
    found = await handlerOf(entry.change).lookUp(ctx, targetOf(vm), entry.change, othersKeys(vm, entry.id));
  } catch (err) {
    // VergeOS unreachable: nothing is known, it stays in flight. Gone (the VM, the drive): known.
    if (isVergeosError(err) && err.code !== 'VERGEOS_NOT_FOUND') throw err;
    return fail(ctx, runId, entry, codeOf(err), sentenceOf(err));
  }
  if (found !== 'unknowable') return found;
  const what = why === 'stopped' ? 'the bot stopped while VergeOS was asked to' : "VergeOS's answer was lost when it was asked to";
  return fail(
    ctx,
    runId,
    entry,
    'CHANGE_OUTCOME_UNKNOWN',
    `${what} ${describeChange(entry.change)}, and nothing in VergeOS tells whether it happened; it was not sent again. Check the VM, then ask again if needed`,
  );
}

function codeOf(err: unknown): string {
  return err instanceof CodedError ? err.code : 'CHANGE_FAILED';
}

function sentenceOf(err: unknown): string {
  return isVergeosError(err) ? operatorMessage(err) : (err as Error).message;
}
