/** The VMs the bot made: who owns them, their keys, and (with --refresh) what VergeOS says now. */
import { summarizeSpec } from '../plan/render.js';
import type { LeaseChange } from '../leases/leases.js';
import { formatDuration } from '../vmspec/units.js';
import type { VmRecord } from '../store/records.js';
import { CodedError } from '../errors.js';
import { CliExit, cliActor, confirm, EXIT, openCore, printJson, type Core } from './context.js';
import { sizeOf } from './json.js';
import { consoleUrl } from '../vergeos/console-link.js';
import { withPurpose } from '../vergeos/purpose.js';

/** A VM by name or VM key (the core's lookup), its refusal said as the CLI says bad input: plainly, exit 2. */
function findVm(core: Core, which: string): VmRecord {
  try {
    return core.core!.vms.find(which);
  } catch (err) {
    if (err instanceof CodedError) throw new CliExit(err.exitCode, err.message);
    throw err;
  }
}

export async function vmsCommand(opts: { owner?: string; refresh?: boolean; expiring?: number; all?: boolean; json?: boolean }): Promise<void> {
  const core = await openCore({ withVergeos: opts.refresh ?? false, readOnly: !opts.refresh });
  try {
    const live = new Map<string, string>();
    if (opts.refresh) {
      await withPurpose('user', async () => {
        await core.provisioner!.noticeDeletedVms();
        const shown = core.provisioner!.ownedVms().filter((v) => v.state !== 'gone' && v.keys.machineKey);
        // Every VM's power state in one call, not one each (VergeOS allows 1000 calls an hour).
        const statuses = shown.length ? await core.vergeos!.machineStatuses(shown.map((v) => v.keys.machineKey!)).catch(() => []) : [];
        const statusOf = new Map(statuses.map((row) => [row.machineKey, row.status]));
        for (const vm of shown) {
          const status = statusOf.get(vm.keys.machineKey!);
          if (status !== undefined) live.set(vm.id, status);
        }
        // Their addresses, in one call too: kept on their records, read below (VergeOS not answering leaves what was known).
        await core.core!.addresses.readMany(shown.filter((v) => v.state === 'live')).catch(() => undefined);
      });
    }
    // Every VM the bot still manages (the deleted ones are history): it exists, is being deleted, or was noticed gone.
    const vms = core.store.listVms((v) => v.state !== 'deleted');
    const mine = vms.filter((v) => !opts.owner || v.owner === opts.owner);
    // A VM noticed gone no longer exists: listed only when asked for (--all).
    const rows = mine.filter(
      (r) =>
        (opts.all || r.state !== 'gone') &&
        (opts.expiring === undefined || (r.lease?.endsAt !== undefined && Date.parse(r.lease.endsAt) <= Date.now() + opts.expiring)),
    );
    const consoleOf = (r: VmRecord) => (core.env.VERGEOS_URL && r.keys.vmKey ? consoleUrl(core.env.VERGEOS_URL, r.keys.vmKey) : null);
    const reachOf = (r: VmRecord) => {
      const known = (r.network?.nics ?? []).filter((n) => n.ipaddress).map((n) => `${n.name} ${n.ipaddress}`);
      const link = consoleOf(r);
      return [...known, ...(link ? [`console ${link}`] : [])].join(', ');
    };
    const leaseOf = (r: VmRecord) => (r.lease?.endsAt ? `${r.lease.expiredAt ? 'lease ended' : 'lease ends'} ${r.lease.endsAt}` : 'kept until deleted');
    const stateOf = (r: VmRecord) =>
      r.state === 'gone' ? 'gone (deleted outside the bot)' : r.state === 'deleting' ? 'being decommissioned' : (live.get(r.id) ?? 'exists');
    if (opts.json) {
      return printJson(
        rows.map((r) => ({
          name: r.name,
          vmKey: r.keys.vmKey || null,
          machineKey: r.keys.machineKey ?? null,
          owner: r.owner,
          state: stateOf(r),
          leaseEndsAt: r.lease?.endsAt ?? null,
          size: sizeOf(r.spec),
          // A resize of a running VM waits for its next power cycle.
          ...(r.needRestart ? { needRestart: true } : {}),
          addresses: (r.network?.nics ?? []).map((n) => ({ nic: n.name, ipaddress: n.ipaddress ?? null, macaddress: n.macaddress ?? null })),
          addressesReadAt: r.network?.readAt ?? null,
          consoleUrl: consoleOf(r),
          runId: r.runId,
          requestId: r.requestId ?? null,
          batchId: r.group ?? null,
          createdAt: r.createdAt,
        })),
      );
    }
    if (!rows.length) {
      const hidden = opts.all ? 0 : mine.filter((r) => r.state === 'gone').length;
      const none = opts.owner ? `No VMs owned by ${opts.owner}` : 'No VMs made through the bot';
      return void process.stdout.write(hidden ? `${none} that still exist (${hidden} deleted outside the bot: --all lists them).\n` : `${none}.\n`);
    }
    for (const r of rows) {
      process.stdout.write(
        `${r.name.padEnd(24)} vm ${String(r.keys.vmKey).padEnd(6)} machine ${String(r.keys.machineKey).padEnd(6)} ${r.owner.padEnd(16)} ${stateOf(r).padEnd(12)} ${leaseOf(r)}  ${summarizeSpec(r.spec)}${r.needRestart ? ', restart needed' : ''}  (${r.requestId ?? r.runId}, ${r.createdAt})\n`,
      );
      const reach = r.state === 'gone' ? '' : reachOf(r);
      if (reach) process.stdout.write(`    reach: ${reach}\n`);
    }
  } finally {
    await core.close();
  }
}

export async function transferCommand(which: string, opts: { to: string }): Promise<void> {
  if (!/^[UW][A-Z0-9]+$|^cli:.+$/.test(opts.to)) throw new CliExit(EXIT.badInput, '--to must be a Slack user id (U…) or cli:<user>');
  const core = await openCore({ withVergeos: true });
  try {
    const vm = findVm(core, which);
    const moved = await core.core!.vms.transfer(vm, opts.to, cliActor());
    process.stdout.write(`${moved.name} (VM key ${moved.keys.vmKey}) now belongs to ${opts.to} (was ${vm.owner}).\n`);
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
    const vm = findVm(core, which);
    const outcome = await core.core!.vms.extend(vm, change, cliActor(), { setLease: opts.setLease ?? false });
    if (!outcome.ok) {
      const name = vm.name;
      if (outcome.code === 'no_lease')
        throw new CliExit(
          EXIT.badInput,
          `${name} is kept until deleted, so it has no lease to extend. To give it one, add --set-lease: it is then powered off when the lease ends and deleted ${formatDuration(core.core!.leases.graceMs)} later. Nothing was changed.`,
        );
      // Refused as asked (past, beyond the maximum, no such VM) is bad input; a run that kept changing is a failure to retry.
      throw new CliExit(outcome.code === 'changed' ? EXIT.failed : EXIT.badInput, `${name}: ${outcome.reason}`);
    }
    const was = outcome.was ? `was ${outcome.was}` : 'was kept until deleted';
    process.stdout.write(
      `${vm.name} is kept until ${outcome.endsAt} (${was}).${vm.lease?.expiredAt ? ' It was powered off when its lease ended; power it on with /vm-create mine.' : ''}\n`,
    );
  } finally {
    await core.close();
  }
}

export async function decommissionCommand(which: string, opts: { yes?: boolean }): Promise<void> {
  const core = await openCore({ withVergeos: true });
  try {
    const vm = findVm(core, which);
    if (!opts.yes && !(await confirm(`Delete VM ${vm.name} (VM key ${vm.keys.vmKey}, owner ${vm.owner}) with its drives, NICs and devices?`)))
      throw new CliExit(EXIT.failed, 'Nothing was deleted.');
    const done = await core.core!.vms.decommission(vm, cliActor());
    if (done.state !== 'decommissioned')
      throw new CliExit(EXIT.failed, `${done.error?.message ?? 'decommission failed'} (run the same command again to resume it)`);
    process.stdout.write(`Decommissioned ${vm.name}: deleted VM key ${vm.keys.vmKey} with its drives, NICs and devices.\n`);
  } finally {
    await core.close();
  }
}
