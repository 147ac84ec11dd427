/**
 * What each kind of change does against VergeOS, in three parts the change executor (actions/change.ts)
 * drives exactly once: the one call that makes it, the lookup that tells after an unknown outcome
 * whether it happened, and its effect on the VM record (its configuration now).
 */
import type { VergeosApi } from '../../vergeos/client.js';
import type { VmRecord } from '../../store/vm-record.js';
import type { ChangeAction, ChangeOf } from '../../vmchange/schema.js';
import type { StopTiming } from '../vm-power.js';

/** What a change made or found: the key of a drive, NIC or snapshot; whether the VM waits for a power cycle. */
export interface ChangeOutcome {
  key?: string | undefined;
  needRestart?: boolean | undefined;
  /** What else the owner should know (a power cycle that failed after the resize took). */
  note?: string | undefined;
  /** The VM's size as VergeOS reports it after (a restore). */
  size?: { cpu_cores: number; ram: number } | undefined;
}

export interface ChangeTools {
  api: VergeosApi;
  stopTiming: StopTiming;
}

/** The VM's keys a change works with (the machine key for hardware and snapshots). */
export interface ChangeTarget {
  vmKey: string;
  machineKey: string;
}

export interface ChangeHandler<A extends ChangeAction> {
  /** The one VergeOS call that makes the change (a power cycle a resize was allowed follows it here). */
  send(tools: ChangeTools, target: ChangeTarget, change: ChangeOf<A>): Promise<ChangeOutcome>;
  /**
   * After an unknown outcome (a lost answer, a restart): what VergeOS shows of it — found, not
   * there (safe to send), or `unknowable` (nothing tells; never sent again by itself). `others`:
   * keys other changes of the VM made, never taken for this one.
   */
  lookUp(tools: ChangeTools, target: ChangeTarget, change: ChangeOf<A>, others: ReadonlySet<string>): Promise<ChangeOutcome | undefined | 'unknowable'>;
  /**
   * Before the first attempt, for what is found by name: why the name is taken now (made by
   * someone else since pre-flight), so a later lookup can never adopt theirs.
   */
  nameTaken?(tools: ChangeTools, target: ChangeTarget, change: ChangeOf<A>): Promise<string | undefined>;
  /** Once done: its effect on the record (configuration now, restart needed). */
  apply(vm: VmRecord, change: ChangeOf<A>, outcome: ChangeOutcome): void;
}
