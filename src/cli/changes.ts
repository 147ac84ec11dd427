/**
 * `vmbot resize`, `disk add|grow`, `nic add`: the operator's changes to a VM the bot made, each a
 * thin edge over `core.changes` (change-run.ts): flags → a change → pre-flight → applied once.
 * Like `vmbot apply`, the operator is not asked through the approval policy; the core audits each.
 */
import { driveName, nicName } from '../plan/plan.js';
import { driveSpecSchema } from '../vmspec/schema.js';
import { formatBytes, formatMegabytes } from '../vmspec/units.js';
import { CliExit, EXIT } from './context.js';
import { parseChange, refused, runChange, withVm } from './change-run.js';

export const RESTART_NEEDED = 'restart needed: the new size takes effect at its next power cycle (run again with --restart, or power it off and on)';

/** `prefix-<n>` not taken among `names`, counting on from how many there are. */
function freeName(prefix: string, names: string[]): string {
  for (let n = names.length + 1; ; n++) if (!names.includes(`${prefix}-${n}`)) return `${prefix}-${n}`;
}

export async function resizeCommand(which: string, opts: { cpu?: number; ram?: string; restart?: boolean; yes?: boolean; json?: boolean }): Promise<void> {
  if (opts.cpu === undefined && opts.ram === undefined)
    throw new CliExit(EXIT.badInput, 'give --cpu N or --ram SIZE (or both); the one left out stays as it is');
  await withVm(which, async (core, vm) => {
    const { cpu_cores: cores, ram } = vm.spec.vm;
    const change = parseChange({ action: 'resize', cpu_cores: opts.cpu ?? cores, ram: opts.ram ?? ram, restart: opts.restart ?? false });
    if (change.action !== 'resize') return;
    await runChange(core, vm, change, {
      json: opts.json,
      yes: opts.yes,
      confirm: () =>
        `Resize ${vm.name} to ${change.cpu_cores} vCPU and ${formatMegabytes(change.ram)} RAM${change.restart ? ' (power-cycled if it runs)' : ''}?`,
      done: ({ vm: after }) => [
        `Resized ${after.name}: ${after.spec.vm.cpu_cores} vCPU, ${formatMegabytes(after.spec.vm.ram)} RAM.`,
        ...(after.needRestart ? [RESTART_NEEDED] : change.restart ? ['It was power-cycled where it ran: the new size is in effect.'] : []),
      ],
    });
  });
}

export async function diskAddCommand(
  which: string,
  opts: { size?: string; cdrom?: string; tier?: string; name?: string; interface?: string; json?: boolean },
): Promise<void> {
  if ((opts.size === undefined) === (opts.cdrom === undefined))
    throw new CliExit(EXIT.badInput, 'give one of --size SIZE (a new disk) or --cdrom MEDIA_KEY (a CD-ROM from a media file)');
  if (opts.cdrom !== undefined && opts.tier !== undefined)
    throw new CliExit(EXIT.badInput, '--tier is for a new disk; a CD-ROM reads its media file where it is');
  await withVm(which, async (core, vm) => {
    const media = opts.cdrom === undefined ? 'disk' : 'cdrom';
    const name = opts.name ?? freeName(media, vm.spec.drives.map(driveName));
    const change = parseChange({
      action: 'disk_add',
      drive:
        media === 'disk'
          ? {
              name,
              media,
              disksize: opts.size,
              interface: (opts.interface ?? 'virtio-scsi') as 'virtio-scsi',
              ...(opts.tier === undefined ? {} : { preferred_tier: opts.tier }),
            }
          : { name, media, media_source: opts.cdrom, interface: (opts.interface ?? 'ahci') as 'ahci' },
    });
    await runChange(core, vm, change, {
      json: opts.json,
      done: ({ entry }) => [`Added ${media === 'disk' ? 'disk' : 'CD-ROM'} ${name} to ${vm.name} (drive key ${entry.key ?? 'unknown'}).`],
    });
  });
}

export async function diskGrowCommand(which: string, drive: string, opts: { to: string; json?: boolean }): Promise<void> {
  await withVm(which, async (core, vm) => {
    const disksize = diskBytes(opts.to);
    const change = parseChange({ action: 'disk_grow', drive, disksize });
    await runChange(core, vm, change, {
      json: opts.json,
      done: () => [`Grew drive ${drive} of ${vm.name} to ${formatBytes(disksize)} (the guest's partitions and file systems are its own to grow).`],
    });
  });
}

/** `--to 200GiB` in bytes, as a recipe's disk size reads (a bare number is bytes). */
function diskBytes(value: string): number {
  const parsed = driveSpecSchema.shape.disksize.safeParse(value);
  if (!parsed.success || parsed.data === undefined) throw refused(parsed.error?.issues.map((i) => ({ path: 'to', message: i.message })) ?? []);
  return parsed.data;
}

export async function nicAddCommand(which: string, opts: { vnet: string; name?: string; interface?: string; ip?: string; json?: boolean }): Promise<void> {
  await withVm(which, async (core, vm) => {
    const name = opts.name ?? freeName('nic', vm.spec.nics.map(nicName));
    const change = parseChange({
      action: 'nic_add',
      nic: {
        name,
        vnet: opts.vnet,
        ...(opts.interface === undefined ? {} : { interface: opts.interface as 'virtio' }),
        ...(opts.ip === undefined ? {} : { ipaddress: opts.ip }),
      },
    });
    await runChange(core, vm, change, {
      json: opts.json,
      done: ({ entry }) => [
        `Added NIC ${name} to ${vm.name} on network ${opts.vnet} (NIC key ${entry.key ?? 'unknown'})${opts.ip ? `, address ${opts.ip}` : ''}.`,
      ],
    });
  });
}
