/**
 * A change in words (before → after where there is a before) and as the exact VergeOS calls it
 * makes: what the approval message, the thread, the audit record and `vmbot` print.
 */
import { driveBody, driveName, nicBody } from '../plan/plan.js';
import type { VmRecord } from '../store/vm-record.js';
import { formatBytes, formatMegabytes } from '../vmspec/units.js';
import type { VmChange } from './schema.js';

const size = (cores: number, ramMb: number) => `${cores} vCPU, ${formatMegabytes(ramMb)} RAM`;

/** The drive of that name in a configuration (its given name, or `disk-1` and so on). */
/** A drive of a configuration by the name VergeOS knows it by (given, or `disk-1` and so on). */
export function specDrive(vm: Pick<VmRecord, 'spec'>, name: string): VmRecord['spec']['drives'][number] | undefined {
  return vm.spec.drives.find((d, i) => driveName(d, i) === name);
}

function driveSize(vm: Pick<VmRecord, 'spec'> | undefined, name: string): number | undefined {
  return vm ? specDrive(vm, name)?.disksize : undefined;
}

/** "resize: 2 vCPU, 4 GiB RAM → 4 vCPU, 8 GiB RAM", "add disk data: 50 GiB on tier 1", … */
export function describeChange(change: VmChange, vm?: Pick<VmRecord, 'spec'>): string {
  switch (change.action) {
    case 'resize': {
      const before = vm ? `${size(vm.spec.vm.cpu_cores, vm.spec.vm.ram)} → ` : '';
      return `resize: ${before}${size(change.cpu_cores, change.ram)}${change.restart ? ' (power-cycled if it runs)' : ''}`;
    }
    case 'disk_add': {
      const d = change.drive;
      if (d.media === 'cdrom') return `add CD-ROM ${d.name}${d.media_source ? ` from media file ${d.media_source}` : ' (empty)'}`;
      return `add ${d.media === 'disk' ? 'disk' : d.media} ${d.name}: ${d.disksize === undefined ? 'its image size' : formatBytes(d.disksize)} on tier ${d.preferred_tier ?? '1'} (${d.interface})`;
    }
    case 'disk_grow': {
      const was = driveSize(vm, change.drive);
      return `grow drive ${change.drive}: ${was === undefined ? '' : `${formatBytes(was)} → `}${formatBytes(change.disksize)}`;
    }
    case 'nic_add':
      return `add NIC ${change.nic.name} on network ${change.nic.vnet} (${change.nic.interface}${change.nic.ipaddress ? `, address ${change.nic.ipaddress}` : ''})`;
    case 'snapshot_create':
      return `take snapshot ${change.name} (${change.expires ? `expires ${change.expires.replace(/\.\d{3}Z$/, 'Z')}` : 'never expires'})`;
    case 'snapshot_restore': {
      const to = change.restores_to ? `, back to ${size(change.restores_to.cpu_cores, change.restores_to.ram)}` : '';
      return `restore snapshot ${change.snapshot} in place${change.power_off ? ', powered off first' : ''}${to} (everything written since it was taken is lost)`;
    }
    case 'snapshot_delete':
      return `delete snapshot ${change.snapshot}`;
  }
}

/** A key as the client sends it in that body: a number when it is one. */
const asSent = (key: string | undefined): string | number | undefined => (key !== undefined && /^\d+$/.test(key) ? Number(key) : key);

/** The calls a change makes, as `METHOD /api/v4/path {body}` lines (keys VergeOS gives later in <>). */
export function changeCalls(change: VmChange, keys: VmRecord['keys']): string[] {
  const vm = keys.vmKey;
  const machine = keys.machineKey;
  const line = (method: string, path: string, body?: object) => `${method} /api/v4${path}${body ? ` ${JSON.stringify(body)}` : ''}`;
  switch (change.action) {
    case 'resize':
      return [
        line('PUT', `/vms/${vm}`, { cpu_cores: change.cpu_cores, ram: change.ram }),
        ...(change.restart
          ? [
              line('POST', '/vm_actions', { vm: asSent(vm), action: 'poweroff', params: {} }),
              line('POST', '/vm_actions', { vm: asSent(vm), action: 'poweron', params: {} }),
            ]
          : []),
      ];
    case 'disk_add':
      return [line('POST', '/machine_drives', { machine, ...driveBody(change.drive, 0) })];
    case 'disk_grow':
      return [line('PUT', `/machine_drives/<key of ${change.drive}>`, { disksize: change.disksize })];
    case 'nic_add':
      return [line('POST', '/machine_nics', { machine, ...nicBody(change.nic, 0) })];
    case 'snapshot_create':
      return [
        line('POST', '/machine_snapshots', {
          machine: asSent(machine),
          name: change.name,
          created_manually: true,
          quiesce: change.quiesce,
          ...(change.expires ? { expires: Math.floor(Date.parse(change.expires) / 1000), expires_type: 'date' } : { expires_type: 'never' }),
        }),
      ];
    case 'snapshot_restore':
      return [
        ...(change.power_off ? [line('POST', '/vm_actions', { vm: asSent(vm), action: 'poweroff', params: {} })] : []),
        line('POST', '/vm_actions', { vm: `<VM key of snapshot ${change.snapshot}>`, action: 'restore', params: { snapshot: asSent(change.snapshotKey) } }),
      ];
    case 'snapshot_delete':
      return [line('DELETE', `/machine_snapshots/${change.snapshotKey}`)];
  }
}

/** What a VM's configuration becomes with the change (what quotas and the policy judge). */
export function specAfter(vm: Pick<VmRecord, 'spec'>, change: VmChange): VmRecord['spec'] {
  const spec = structuredClone(vm.spec);
  switch (change.action) {
    case 'resize':
      spec.vm.cpu_cores = change.cpu_cores;
      spec.vm.ram = change.ram;
      break;
    case 'disk_add':
      spec.drives.push(change.drive);
      break;
    case 'disk_grow': {
      const drive = specDrive({ spec }, change.drive);
      if (drive) drive.disksize = change.disksize;
      break;
    }
    case 'nic_add':
      spec.nics.push(change.nic);
      break;
    case 'snapshot_restore':
      if (change.restores_to) {
        spec.vm.cpu_cores = change.restores_to.cpu_cores;
        spec.vm.ram = change.restores_to.ram;
      }
      break;
    default:
      break;
  }
  return spec;
}
