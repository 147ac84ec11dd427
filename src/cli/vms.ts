/** The VMs the bot made: who owns them, their keys, and (with --refresh) what VergeOS says now. */
import { summarizeSpec } from '../plan/render.js';
import { Leases, type LeaseChange } from '../leases/leases.js';
import { isOwnedVm } from '../provision/provisioner.js';
import { formatDuration } from '../vmspec/units.js';
import type { RunRecord } from '../store/records.js';
import { CliExit, cliActor, confirm, EXIT, openCore, printJson } from './context.js';
import { sizeOf } from './json.js';

/** A VM by name or VM key, among the VMs the bot made that still exist. */
function findVm(vms: RunRecord[], which: string): RunRecord {
  const found = vms.filter((r) => r.spec.vm.name === which || r.keys.vmKey === which);
  if (!found.length) throw new CliExit(EXIT.badInput, `no VM ${which} made through the bot (see \`vmbot vms\`)`);
  if (found.length > 1)
    throw new CliExit(EXIT.badInput, `${which} names ${found.length} VMs; give the VM key instead (${found.map((r) => r.keys.vmKey).join(', ')})`);
  return found[0]!;
}

export async function vmsCommand(opts: { owner?: string; refresh?: boolean; expiring?: number; all?: boolean; json?: boolean }): Promise<void> {
  const core = await openCore({ withVergeos: opts.refresh ?? false, readOnly: !opts.refresh });
  try {
    const live = new Map<string, string>();
    if (opts.refresh) {
      await core.provisioner!.noticeDeletedVms();
      for (const run of core.provisioner!.ownedVms().filter((r) => !r.goneAt && r.keys.machineKey)) {
        const status = await core.vergeos!.machineStatus(run.keys.machineKey!).catch(() => undefined);
        if (status) live.set(run.id, status.status);
      }
    }
    const vms = core.store.listRuns(isOwnedVm);
    const mine = vms.filter((r) => !opts.owner || (r.owner ?? r.actor) === opts.owner);
    // A VM noticed gone no longer exists: listed only when asked for (--all).
    const rows = mine.filter(
      (r) =>
        (opts.all || !r.goneAt) && (opts.expiring === undefined || (r.lease?.endsAt !== undefined && Date.parse(r.lease.endsAt) <= Date.now() + opts.expiring)),
    );
    const leaseOf = (r: RunRecord) => (r.lease?.endsAt ? `${r.lease.expiredAt ? 'lease ended' : 'lease ends'} ${r.lease.endsAt}` : 'kept until deleted');
    const stateOf = (r: RunRecord) =>
      r.goneAt ? 'gone (deleted outside the bot)' : r.state === 'cleaning_up' ? 'being decommissioned' : (live.get(r.id) ?? 'exists');
    if (opts.json) {
      return printJson(
        rows.map((r) => ({
          name: r.spec.vm.name,
          vmKey: r.keys.vmKey ?? null,
          machineKey: r.keys.machineKey ?? null,
          owner: r.owner ?? r.actor,
          state: stateOf(r),
          leaseEndsAt: r.lease?.endsAt ?? null,
          size: sizeOf(r.spec),
          runId: r.id,
          requestId: r.requestId ?? null,
          batchId: r.group ?? null,
          createdAt: r.createdAt,
        })),
      );
    }
    if (!rows.length) {
      const hidden = opts.all ? 0 : mine.filter((r) => r.goneAt).length;
      const none = opts.owner ? `No VMs owned by ${opts.owner}` : 'No VMs made through the bot';
      return void process.stdout.write(hidden ? `${none} that still exist (${hidden} deleted outside the bot: --all lists them).\n` : `${none}.\n`);
    }
    for (const r of rows) {
      process.stdout.write(
        `${r.spec.vm.name.padEnd(24)} vm ${String(r.keys.vmKey).padEnd(6)} machine ${String(r.keys.machineKey).padEnd(6)} ${(r.owner ?? r.actor).padEnd(16)} ${stateOf(r).padEnd(12)} ${leaseOf(r)}  ${summarizeSpec(r.spec)}  (${r.requestId ?? r.id}, ${r.createdAt})\n`,
      );
    }
  } finally {
    await core.close();
  }
}

export async function transferCommand(which: string, opts: { to: string }): Promise<void> {
  if (!/^[UW][A-Z0-9]+$|^cli:.+$/.test(opts.to)) throw new CliExit(EXIT.badInput, '--to must be a Slack user id (U…) or cli:<user>');
  const core = await openCore({ withVergeos: true });
  try {
    const vm = findVm(core.provisioner!.ownedVms(), which);
    const moved = await core.provisioner!.transfer(vm.id, opts.to, cliActor());
    process.stdout.write(`${moved.spec.vm.name} (VM key ${moved.keys.vmKey}) now belongs to ${opts.to} (was ${vm.owner ?? vm.actor}).\n`);
  } finally {
    await core.close();
  }
}

export async function extendCommand(which: string, opts: { for?: number; until?: Date; setLease?: boolean }): Promise<void> {
  if ((opts.for === undefined) === (opts.until === undefined))
    throw new CliExit(EXIT.badInput, 'give one of --for 7d (added to the current end) or --until DATE');
  const change: LeaseChange = opts.for !== undefined ? { by: opts.for } : { until: opts.until! };
  const core = await openCore({ withVergeos: true });
  try {
    const vm = findVm(core.provisioner!.ownedVms(), which);
    const leases = new Leases({ store: core.store, audit: core.audit, provisioner: core.provisioner! });
    const outcome = await leases.extend(vm.id, change, cliActor(), { setLease: opts.setLease ?? false });
    if (!outcome.ok) {
      const name = vm.spec.vm.name;
      if (outcome.code === 'no_lease')
        throw new CliExit(
          EXIT.badInput,
          `${name} is kept until deleted, so it has no lease to extend. To give it one, add --set-lease: it is then powered off when the lease ends and deleted ${formatDuration(leases.graceMs)} later. Nothing was changed.`,
        );
      // Refused as asked (past, beyond the maximum, no such VM) is bad input; a run that kept changing is a failure to retry.
      throw new CliExit(outcome.code === 'changed' ? EXIT.failed : EXIT.badInput, `${name}: ${outcome.reason}`);
    }
    const was = outcome.was ? `was ${outcome.was}` : 'was kept until deleted';
    process.stdout.write(
      `${vm.spec.vm.name} is kept until ${outcome.endsAt} (${was}).${vm.lease?.expiredAt ? ' It was powered off when its lease ended; power it on with /vm-create mine.' : ''}\n`,
    );
  } finally {
    await core.close();
  }
}

export async function decommissionCommand(which: string, opts: { yes?: boolean }): Promise<void> {
  const core = await openCore({ withVergeos: true });
  try {
    const vm = findVm(core.provisioner!.ownedVms(), which);
    if (
      !opts.yes &&
      !(await confirm(`Delete VM ${vm.spec.vm.name} (VM key ${vm.keys.vmKey}, owner ${vm.owner ?? vm.actor}) with its drives, NICs and devices?`))
    )
      throw new CliExit(EXIT.failed, 'Nothing was deleted.');
    const done = await core.provisioner!.decommission(vm.id, cliActor());
    if (done.state !== 'decommissioned')
      throw new CliExit(EXIT.failed, `${done.error?.message ?? 'decommission failed'} (run the same command again to resume it)`);
    process.stdout.write(`Decommissioned ${vm.spec.vm.name}: deleted VM key ${vm.keys.vmKey} with its drives, NICs and devices.\n`);
  } finally {
    await core.close();
  }
}
