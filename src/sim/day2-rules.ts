/**
 * What VergeOS does with a change to an existing VM, as its clients describe it: a resize (taken
 * at once, applied at the next power cycle: `need_restart`), a disk grown (never shrunk),
 * snapshots in `machine_snapshots` (each with a hidden VM row of its own machine), an in-place
 * restore (only while the VM is off) and a clone. Each rule throws SimHttpError with VergeOS's
 * status and `err` text.
 */
import { insertVm, macAddress } from './create-rules.js';
import type { Row } from './query.js';
import { SimHttpError } from './schema.js';
import type { SimState } from './state.js';
import { CORES_MAX, CORES_MIN, RAM_MAX_MB, RAM_MIN_MB } from '../vergeos/enums.js';
import { text } from '../text.js';

/** VM fields a snapshot or a clone does not copy: its identity and state. */
const OWN_VM_FIELDS = new Set(['$key', 'machine', 'name', 'created', 'need_restart', 'is_snapshot']);
/** Media that hold data of their own and so can grow (import and clone drives are disks once copied). */
const GROWABLE_MEDIA = new Set(['disk', 'import', 'clone']);

// ---- resize and grow -------------------------------------------------------------------------

/** `PUT /vms/:key`: accepted on a running VM too; CPU/RAM then wait for a power cycle (`need_restart`). */
export function updateVm(world: SimState, key: string, body: Row): Row {
  const vm = world.table('vms').get(key);
  if (!vm || vm.is_snapshot) throw new SimHttpError(404, `VM '${key}' not found`);
  const cores = body.cpu_cores;
  if (cores !== undefined && !inRange(cores, CORES_MIN, CORES_MAX)) throw new SimHttpError(400, `Invalid value for 'cpu_cores': ${text(cores)}`);
  const ram = body.ram;
  if (ram !== undefined && !inRange(ram, RAM_MIN_MB, RAM_MAX_MB)) throw new SimHttpError(400, `Invalid value for 'ram': ${text(ram)}`);
  const name = body.name;
  if (name !== undefined) {
    if (typeof name !== 'string' || name.trim() === '') throw new SimHttpError(400, `Invalid value for 'name': ${text(name)}`);
    for (const other of world.table('vms').values()) {
      if (other !== vm && other.name === name && !other.is_snapshot)
        throw new SimHttpError(world.behaviour.nameTakenStatus, `The name '${name}' is already in use`);
    }
  }
  if (body.description !== undefined && typeof body.description !== 'string') throw new SimHttpError(400, "Invalid value for 'description'");
  world.refresh();
  const status = world.statusOfMachine(String(vm.machine));
  const up = status.running === true || status.status === 'starting';
  const sizeChanged = (cores !== undefined && cores !== vm.cpu_cores) || (ram !== undefined && ram !== vm.ram);
  if (cores !== undefined) vm.cpu_cores = cores;
  if (ram !== undefined) vm.ram = ram;
  if (typeof name === 'string') {
    vm.name = name;
    const machine = world.table('machines').get(String(vm.machine));
    if (machine) machine.name = name;
  }
  if (typeof body.description === 'string') vm.description = body.description;
  if (up && sizeChanged) vm.need_restart = true;
  return vm;
}

/** `PUT /machine_drives/:key`: a disk grows on its tier (room checked as on create); it never shrinks. */
export function growDrive(world: SimState, key: string, body: Row): Row {
  const drive = world.table('machine_drives').get(key);
  if (!drive) throw new SimHttpError(404, `Drive '${key}' not found`);
  const size = body.disksize;
  if (size !== undefined) {
    if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0) throw new SimHttpError(400, `Invalid value for 'disksize': ${text(size)}`);
    // The simulator's own rule (no client states one): a CD-ROM or an EFI store has no size to grow.
    if (!GROWABLE_MEDIA.has(text(drive.media))) throw new SimHttpError(422, `Drive '${text(drive.name)}' is a ${text(drive.media)} and cannot be resized`);
    if (size < Number(drive.disksize)) throw new SimHttpError(422, 'Drives can only be expanded, never shrunk');
    const delta = size - Number(drive.disksize);
    const tier = tierOf(world, drive);
    if (tier) {
      // Grown thin: allocated now, used as the guest writes.
      if (delta > Number(tier.capacity) - Number(tier.used)) throw new SimHttpError(507, `Insufficient storage on tier ${text(drive.preferred_tier)}`);
      tier.allocated = Number(tier.allocated) + delta;
    }
    drive.disksize = size;
  }
  if (typeof body.name === 'string' && body.name !== '') drive.name = body.name;
  if (typeof body.description === 'string') drive.description = body.description;
  return drive;
}

/** Refuses a power-on over the cluster's per-VM limits: VergeOS accepts the PUT and then will not start the VM. */
export function checkClusterLimits(world: SimState, vm: Row): void {
  const cluster = world.table('clusters').get(text(vm.cluster));
  if (!cluster) return;
  // 422, not 409: waiting does not help, only a smaller VM or a higher limit does.
  if (cluster.max_ram_per_vm !== undefined && Number(vm.ram) > Number(cluster.max_ram_per_vm))
    throw new SimHttpError(422, 'Machine exceeds the max amount of RAM allowed on this cluster');
  // VergeOS's docs quote only the RAM message; the cores one is worded after it.
  if (cluster.max_cores_per_vm !== undefined && Number(vm.cpu_cores) > Number(cluster.max_cores_per_vm))
    throw new SimHttpError(422, 'Machine exceeds the max amount of cores allowed on this cluster');
}

// ---- snapshots -------------------------------------------------------------------------------

/** `POST /machine_snapshots`: a row, and a hidden VM (`is_snapshot`) whose machine holds copies of the drives and NICs. */
export function createSnapshot(world: SimState, body: Row): { key: string } {
  const machine = world.machine(body.machine);
  const vm = world.table('vms').get(text(machine.vm));
  if (!vm) throw new SimHttpError(404, `VM of machine '${text(body.machine)}' not found`);
  if (vm.is_snapshot) throw new SimHttpError(422, `Machine '${text(body.machine)}' is a snapshot`);
  const name = body.name;
  if (typeof name !== 'string' || name.trim() === '') throw new SimHttpError(400, "Missing required field 'name'");
  if (name.length > 128) throw new SimHttpError(400, "Invalid value for 'name': at most 128 characters");
  if (body.description !== undefined && (typeof body.description !== 'string' || body.description.length > 2048))
    throw new SimHttpError(400, "Invalid value for 'description'");
  const expiresType = body.expires_type;
  if (expiresType !== undefined && expiresType !== 'date' && expiresType !== 'never')
    throw new SimHttpError(422, `Invalid value '${text(expiresType)}' for field 'expires_type'`);
  const expires = expiresType === 'never' ? 0 : (body.expires ?? 0);
  if (typeof expires !== 'number' || !Number.isInteger(expires) || expires < 0) throw new SimHttpError(400, `Invalid value for 'expires': ${text(expires)}`);
  if (expiresType === 'date' && expires === 0) throw new SimHttpError(400, "expires_type 'date' requires 'expires'");

  const hidden = insertVm(world, { ...copiedVmFields(vm), name: vm.name, is_snapshot: true });
  for (const drive of rowsOfMachine(world, 'machine_drives', String(vm.machine))) copyDrive(world, drive, hidden.machineKey, 'snapshot');
  for (const nic of rowsOfMachine(world, 'machine_nics', String(vm.machine))) copyNic(world, nic, hidden.machineKey, 'snapshot', true);
  // The snapshot keeps the VM's device settings too; its machine never runs, so they hold no hardware.
  for (const device of rowsOfMachine(world, 'machine_devices', String(vm.machine))) {
    const deviceKey = world.nextKey('machine_devices');
    world.table('machine_devices').set(String(deviceKey), { ...device, $key: deviceKey, machine: Number(hidden.machineKey) });
  }
  const key = String(world.nextKey('machine_snapshots'));
  world.table('machine_snapshots').set(key, {
    $key: Number(key),
    machine: machine.$key,
    name,
    description: body.description ?? '',
    created: Math.floor(world.now() / 1000),
    expires,
    quiesced: body.quiesce === true || body.quiesce === 'true',
    created_manually: body.created_manually === undefined || body.created_manually === true || body.created_manually === 'true',
    snap_machine: Number(hidden.machineKey),
    snapshot_period: null,
  });
  return { key };
}

/** `DELETE /machine_snapshots/:key`, with its hidden VM. */
export function deleteSnapshot(world: SimState, key: string): void {
  const snapshot = world.table('machine_snapshots').get(key);
  if (!snapshot) throw new SimHttpError(404, `Snapshot '${key}' not found`);
  const snapMachine = String(snapshot.snap_machine);
  for (const [k, drive] of world.table('machine_drives')) if (String(drive.machine) === snapMachine) removeDrive(world, k, drive);
  for (const table of ['machine_nics', 'machine_devices'] as const)
    for (const [k, row] of world.table(table)) if (String(row.machine) === snapMachine) world.table(table).delete(k);
  const machine = world.table('machines').get(snapMachine);
  if (machine) {
    world.table('machine_status').delete(String(machine.status));
    world.table('vms').delete(String(machine.vm));
    world.table('machines').delete(snapMachine);
  }
  world.table('machine_snapshots').delete(key);
}

/**
 * `vm_actions` restore with `vm` = the snapshot's VM key: the original VM, which must be off, gets
 * the snapshot's CPU, RAM and drive sizes back; drives and NICs added since are gone.
 */
export function restoreSnapshot(world: SimState, body: Row): void {
  const snapVm = world.table('vms').get(text(body.vm));
  if (!snapVm) throw new SimHttpError(404, `VM '${text(body.vm)}' not found`);
  if (!snapVm.is_snapshot) throw new SimHttpError(422, `VM '${text(snapVm.name)}' is not a snapshot: an in-place restore takes the snapshot's VM key`);
  const snapshot = [...world.table('machine_snapshots').values()].find((s) => String(s.snap_machine) === String(snapVm.machine));
  if (!snapshot) throw new SimHttpError(404, `No snapshot has VM '${text(body.vm)}'`);
  const asked = (body.params as Row | undefined)?.snapshot;
  if (asked !== undefined && text(asked) !== String(snapshot.$key))
    throw new SimHttpError(422, `Snapshot '${text(asked)}' does not belong to VM '${text(body.vm)}'`);
  const machineKey = String(snapshot.machine);
  const vm = world.table('vms').get(String(world.table('machines').get(machineKey)?.vm));
  if (!vm) throw new SimHttpError(404, `The VM snapshot '${text(snapshot.name)}' was taken of no longer exists`);
  world.refresh();
  if (world.statusOfMachine(machineKey).status !== 'stopped') throw new SimHttpError(409, 'VM must be powered off for in-place restore');

  vm.cpu_cores = snapVm.cpu_cores;
  vm.ram = snapVm.ram;
  vm.need_restart = false;
  const saved = new Map(rowsOfMachine(world, 'machine_drives', String(snapVm.machine)).map((copy) => [String(copy._source), copy]));
  for (const [k, drive] of world.table('machine_drives')) {
    if (String(drive.machine) !== machineKey) continue;
    const copy = saved.get(k);
    if (!copy) {
      removeDrive(world, k, drive);
      continue;
    }
    const tier = tierOf(world, drive);
    if (tier) {
      tier.used = Number(tier.used) + written(copy) - written(drive);
      tier.allocated = Number(tier.allocated) + Number(copy.disksize) - Number(drive.disksize);
    }
    drive.disksize = copy.disksize;
    drive._written = written(copy);
  }
  const savedNics = new Set(rowsOfMachine(world, 'machine_nics', String(snapVm.machine)).map((copy) => String(copy._source)));
  for (const [k, nic] of world.table('machine_nics')) if (String(nic.machine) === machineKey && !savedNics.has(k)) world.table('machine_nics').delete(k);
}

// ---- clone -----------------------------------------------------------------------------------

/**
 * `vm_actions` clone: a stopped VM with the source's settings, copies of its drives (taking room
 * on their tiers) and NICs (new MACs unless `preserve_macs`). The source may be running, or a
 * snapshot's VM (a restore to a new VM). Answers VergeOS's `response` keys, as strings.
 */
export function cloneVm(world: SimState, body: Row): Row {
  const source = world.table('vms').get(text(body.vm));
  if (!source) throw new SimHttpError(404, `VM '${text(body.vm)}' not found`);
  const params = (body.params ?? {}) as Row;
  // Without a name VergeOS names it "${NAME}_${TIMESTAMP}" (pyVergeOS, gov).
  const name = params.name ?? `${text(source.name)}_${Math.floor(world.now() / 1000)}`;
  if (typeof name !== 'string' || name.trim() === '') throw new SimHttpError(400, `Invalid value for 'name': ${text(name)}`);
  for (const vm of world.table('vms').values()) {
    if (vm.name === name && !vm.is_snapshot) throw new SimHttpError(world.behaviour.nameTakenStatus, `The name '${name}' is already in use`);
  }
  const drives = rowsOfMachine(world, 'machine_drives', String(source.machine));
  const needed = new Map<string, number>();
  for (const d of drives) needed.set(text(d.preferred_tier), (needed.get(text(d.preferred_tier)) ?? 0) + Number(d.disksize));
  for (const [tierName, size] of needed) {
    const tier = [...world.table('storage_tiers').values()].find((t) => String(t.tier) === tierName);
    if (tier && size > Number(tier.capacity) - Number(tier.used)) throw new SimHttpError(507, `Insufficient storage on tier ${tierName}`);
  }
  const created = insertVm(world, { ...copiedVmFields(source), name, is_snapshot: false });
  for (const drive of drives) copyDrive(world, drive, created.machineKey, 'clone');
  const keepMacs = params.preserve_macs === true || params.preserve_macs === 'true';
  for (const nic of rowsOfMachine(world, 'machine_nics', String(source.machine))) copyNic(world, nic, created.machineKey, 'clone', keepMacs);
  return { vmkey: created.vmKey, machinekey: created.machineKey, machinestatuskey: created.statusKey, clusterkey: text(source.cluster) };
}

// ---- rows --------------------------------------------------------------------------------------

/** Removes a drive and its status row; a drive of a live machine gives its room back to its tier. */
export function removeDrive(world: SimState, key: string, drive: Row): void {
  const tier = drive._snapshot_copy ? undefined : tierOf(world, drive);
  if (tier) {
    tier.used = Number(tier.used) - written(drive);
    tier.allocated = Number(tier.allocated) - Number(drive.disksize);
  }
  world.table('machine_drive_status').delete(String(drive.status));
  world.table('machine_drives').delete(key);
}

function copyDrive(world: SimState, drive: Row, machineKey: string, copyOf: 'snapshot' | 'clone'): void {
  const key = world.nextKey('machine_drives');
  const statusKey = world.nextKey('machine_drive_status');
  world.table('machine_drive_status').set(String(statusKey), { $key: statusKey, drive: key, status: 'online', status_info: '' });
  const copy: Row = { ...drive, $key: key, machine: Number(machineKey), status: statusKey, _ready_at: undefined };
  if (copyOf === 'snapshot') {
    // A snapshot shares its blocks with the VM: no room taken on the tier.
    copy._snapshot_copy = true;
    copy._source = drive.$key;
  } else {
    delete copy._snapshot_copy;
    delete copy._source;
    // A clone copies what the drive holds: its written bytes, and its size allocated.
    const tier = tierOf(world, copy);
    if (tier) {
      tier.used = Number(tier.used) + written(copy);
      tier.allocated = Number(tier.allocated) + Number(copy.disksize);
    }
  }
  world.table('machine_drives').set(String(key), copy);
}

/** A NIC copy keeps its settings (a static address too, as configured); a clone's gets a new MAC unless asked to keep it. */
function copyNic(world: SimState, nic: Row, machineKey: string, copyOf: 'snapshot' | 'clone', keepMac: boolean): void {
  const key = world.nextKey('machine_nics');
  const copy: Row = {
    ...nic,
    $key: key,
    machine: Number(machineKey),
    macaddress: keepMac ? nic.macaddress : macAddress(key),
    ipaddress: nic._static_ipaddress ?? '',
    _address_at: world.now() + world.timing.addressMs,
  };
  if (copyOf === 'snapshot') copy._source = nic.$key;
  else delete copy._source;
  world.table('machine_nics').set(String(key), copy);
}

function copiedVmFields(vm: Row): Row {
  return Object.fromEntries(Object.entries(vm).filter(([field]) => !OWN_VM_FIELDS.has(field)));
}

function rowsOfMachine(world: SimState, table: 'machine_drives' | 'machine_nics' | 'machine_devices', machineKey: string): Row[] {
  return [...world.table(table).values()].filter((row) => String(row.machine) === machineKey);
}

/** Bytes a drive holds on its tier's `used` (what was written when it was made; a thin disk, none). */
function written(drive: Row): number {
  return Number(drive._written ?? 0);
}

function tierOf(world: SimState, drive: Row): Row | undefined {
  return [...world.table('storage_tiers').values()].find((t) => String(t.tier) === text(drive.preferred_tier));
}

function inRange(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
