/**
 * `vmbot snapshot create|list|restore|delete`: a VM's snapshots (VergeOS's `machine_snapshots`),
 * each change applied once through `core.changes` (change-run.ts). A restore is in place: what was
 * written since the snapshot is lost, and the VM must be off (`--power-off` powers it off first).
 */
import type { Snapshot } from '../vergeos/types.js';
import type { VmRecord } from '../store/vm-record.js';
import { printJson, type Core } from './context.js';
import { asCliExit, parseChange, runChange, withVm } from './change-run.js';

/** VergeOS's own clients keep a snapshot a day unless told otherwise. */
const DEFAULT_EXPIRY_MS = 24 * 3_600_000;

/** `<vm>-<UTC yyyymmdd-hhmm>` (the VM's name cut so the whole fits VergeOS's 128 characters). */
function defaultName(vm: VmRecord, now: Date): string {
  const stamp = now.toISOString().replace(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}).*$/, '$1$2$3-$4$5');
  return `${vm.name.slice(0, 128 - stamp.length - 1)}-${stamp}`;
}

export async function snapshotCreateCommand(
  which: string,
  opts: { name?: string; expires?: number | 'never'; quiesce?: boolean; json?: boolean },
): Promise<void> {
  await withVm(which, async (core, vm) => {
    const now = new Date();
    const lasts = opts.expires ?? DEFAULT_EXPIRY_MS;
    // Sent absolute, as VergeOS keeps it.
    const expires = lasts === 'never' ? undefined : new Date(now.getTime() + lasts).toISOString();
    const change = parseChange({
      action: 'snapshot_create',
      name: opts.name ?? defaultName(vm, now),
      ...(expires ? { expires } : {}),
      quiesce: opts.quiesce ?? false,
    });
    if (change.action !== 'snapshot_create') return;
    await runChange(core, vm, change, {
      json: opts.json,
      done: ({ entry }) => [
        `Took snapshot ${change.name} of ${vm.name} (key ${entry.key ?? 'unknown'}); ${expires ? `it expires ${expires.replace(/\.\d{3}Z$/, 'Z')}` : 'it never expires'}.`,
      ],
    });
  });
}

/** A snapshot as `snapshot list` shows it. */
function listed(s: Snapshot) {
  return { name: s.name, key: s.key, created: s.createdAt, expires: s.expiresAt ?? null, quiesced: s.quiesced };
}

export async function snapshotListCommand(which: string, opts: { json?: boolean }): Promise<void> {
  await withVm(which, async (core, vm) => {
    const all = await core.core!.changes.snapshots(vm).catch((err: unknown) => {
      throw asCliExit(err);
    });
    if (opts.json) return printJson(all.map(listed));
    if (!all.length) return void process.stdout.write(`${vm.name} has no snapshots.\n`);
    for (const s of all.map(listed))
      process.stdout.write(
        `${s.name.padEnd(32)} key ${s.key.padEnd(6)} taken ${s.created}  ${s.expires ? `expires ${s.expires}` : 'never expires'}${s.quiesced ? '  quiesced' : ''}\n`,
      );
  });
}

/** One of the VM's snapshots by name or key; none or several is bad input naming the ones it has. */
async function snapshotOf(core: Core, vm: VmRecord, which: string): Promise<Snapshot> {
  try {
    return await core.core!.changes.snapshot(vm, which);
  } catch (err) {
    throw asCliExit(err);
  }
}

export async function snapshotRestoreCommand(which: string, snapshot: string, opts: { yes?: boolean; powerOff?: boolean; json?: boolean }): Promise<void> {
  await withVm(which, async (core, vm) => {
    const snap = await snapshotOf(core, vm, snapshot);
    // A running VM is refused (it must be off) unless --power-off: the core then powers it off just before the restore.
    const change = parseChange({ action: 'snapshot_restore', snapshot: snap.name, snapshotKey: snap.key, power_off: opts.powerOff ?? false });
    await runChange(core, vm, change, {
      json: opts.json,
      yes: opts.yes,
      notes: [`Everything written to ${vm.name} since ${snap.createdAt} (when ${snap.name} was taken) will be lost.`],
      refusedHint: 'Add --power-off to have it powered off first.',
      confirm: ({ running }) =>
        `${running ? `Power off ${vm.name} and restore it` : `Restore ${vm.name}`} to snapshot ${snap.name}, losing everything written since ${snap.createdAt}?`,
      done: () => [`Restored ${vm.name} to snapshot ${snap.name} (taken ${snap.createdAt}). It is powered off.`],
    });
  });
}

export async function snapshotDeleteCommand(which: string, snapshot: string, opts: { yes?: boolean; json?: boolean }): Promise<void> {
  await withVm(which, async (core, vm) => {
    const snap = await snapshotOf(core, vm, snapshot);
    const change = parseChange({ action: 'snapshot_delete', snapshot: snap.name, snapshotKey: snap.key });
    await runChange(core, vm, change, {
      json: opts.json,
      yes: opts.yes,
      confirm: () => `Delete snapshot ${snap.name} (key ${snap.key}, taken ${snap.createdAt}) of ${vm.name}?`,
      done: () => [`Deleted snapshot ${snap.name} of ${vm.name}.`],
    });
  });
}
