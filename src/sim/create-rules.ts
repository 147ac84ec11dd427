/**
 * What VergeOS checks when something is created: a VM (with its machine and status rows), and the
 * drives, NICs and devices attached to a machine. Each rule throws SimHttpError with VergeOS's
 * status and `err` text; what passes becomes rows of the simulator's tables.
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { Row } from './query.js';
import { SimHttpError } from './schema.js';
import type { SimState } from './state.js';
import {
  CLOUDINIT_DATASOURCES,
  DEVICE_TYPES,
  DRIVE_INTERFACES,
  DRIVE_MEDIA,
  MAX_CLOUDINIT_FILE_BYTES,
  NIC_INTERFACES,
  OS_FAMILIES,
  RTC_BASES,
  VIDEO_TYPES,
} from '../vergeos/enums.js';
import { text } from '../text.js';

export function createVm(world: SimState, body: Row): { vmKey: string; machineKey: string } {
  const name = body.name;
  if (typeof name !== 'string' || name.trim() === '') throw new SimHttpError(400, "Missing required field 'name'");
  for (const vm of world.table('vms').values()) {
    if (vm.name === name && !vm.is_snapshot) throw new SimHttpError(world.behaviour.nameTakenStatus, `The name '${name}' is already in use`);
  }
  if (body.cluster !== undefined && body.cluster !== '') {
    const cluster = world.table('clusters').get(text(body.cluster));
    if (!cluster) throw new SimHttpError(404, `Cluster '${text(body.cluster)}' not found`);
    if (cluster.enabled === false) throw new SimHttpError(422, `Cluster '${String(cluster.name)}' is disabled`);
  }
  const ram = body.ram ?? 1024;
  if (typeof ram !== 'number' || !Number.isInteger(ram) || ram < 256 || ram > 1_048_576) throw new SimHttpError(400, `Invalid value for 'ram': ${text(ram)}`);
  const cores = body.cpu_cores ?? 1;
  if (typeof cores !== 'number' || !Number.isInteger(cores) || cores < 1 || cores > 1024)
    throw new SimHttpError(400, `Invalid value for 'cpu_cores': ${text(cores)}`);
  checkEnum(body, 'video', VIDEO_TYPES);
  checkEnum(body, 'rtc_base', RTC_BASES);
  checkEnum(body, 'os_family', OS_FAMILIES);
  checkEnum(body, 'cloudinit_datasource', CLOUDINIT_DATASOURCES);
  const files = body.cloudinit_files ?? [];
  if (!Array.isArray(files)) throw new SimHttpError(400, "Invalid value for 'cloudinit_files'");
  for (const file of files as Row[]) {
    if (typeof file?.name !== 'string' || typeof file.contents !== 'string') throw new SimHttpError(400, "Each cloud-init file needs 'name' and 'contents'");
    if (Buffer.byteLength(file.contents) > MAX_CLOUDINIT_FILE_BYTES) throw new SimHttpError(422, `Cloud-init file '${file.name}' exceeds 64KB`);
  }

  return insertVm(world, {
    name,
    description: body.description ?? '',
    cluster: body.cluster === undefined ? 1 : Number(body.cluster),
    cpu_cores: cores,
    ram,
    guest_agent: body.guest_agent === true || body.guest_agent === 'true',
    uefi: body.uefi === true || body.uefi === 'true',
    secure_boot: body.secure_boot === true || body.secure_boot === 'true',
    video: body.video ?? 'std',
    rtc_base: body.rtc_base ?? 'utc',
    os_family: body.os_family ?? 'linux',
    machine_type: body.machine_type ?? 'pc-q35-9.0',
    cloudinit_datasource: body.cloudinit_datasource ?? 'none',
    cloudinit_files: files.length,
    is_snapshot: false,
  });
}

/**
 * A VM's rows without any check: its status row (stopped), its machine and the VM row with these
 * fields. Used by create, and by a snapshot's hidden VM and a clone, which copy a VM's fields.
 */
export function insertVm(world: SimState, fields: Row): { vmKey: string; machineKey: string; statusKey: string } {
  const vmKey = String(world.nextKey('vms'));
  const machineKey = String(world.nextKey('machines'));
  const statusKey = String(world.nextKey('machine_status'));
  world.table('machine_status').set(statusKey, { $key: Number(statusKey), machine: Number(machineKey), status: 'stopped', running: false });
  world.table('machines').set(machineKey, { $key: Number(machineKey), name: fields.name, vm: Number(vmKey), status: Number(statusKey) });
  world.table('vms').set(vmKey, {
    ...fields,
    $key: Number(vmKey),
    machine: Number(machineKey),
    need_restart: false,
    created: Math.floor(world.now() / 1000),
  });
  return { vmKey, machineKey, statusKey };
}

export function addDrive(world: SimState, body: Row): { key: string } {
  const machine = world.machine(body.machine);
  const media = text(body.media ?? 'disk');
  if (!(DRIVE_MEDIA as readonly string[]).includes(media)) throw new SimHttpError(422, `Unsupported media type '${media}'`);
  const iface = text(body.interface ?? 'virtio-scsi');
  if (!(DRIVE_INTERFACES as readonly string[]).includes(iface)) throw new SimHttpError(422, `Invalid drive interface '${iface}'`);
  const tierName = text(body.preferred_tier ?? '1');
  const tier = [...world.table('storage_tiers').values()].find((t) => String(t.tier) === tierName);
  if (!tier) throw new SimHttpError(422, `Storage tier '${tierName}' does not exist`);

  let size = 0;
  let status = 'online';
  let mediaSource: Row | undefined;
  if (media === 'cdrom' || media === 'import' || media === 'clone') {
    if (body.media_source === undefined || body.media_source === null || body.media_source === '') {
      throw new SimHttpError(400, `Media type '${media}' requires 'media_source'`);
    }
    mediaSource = world.table('files').get(text(body.media_source));
    if (!mediaSource) throw new SimHttpError(404, `Media source '${text(body.media_source)}' not found`);
    if (media !== 'cdrom') {
      size = Number(mediaSource.filesize ?? 0);
      status = 'importing';
    }
  } else if (media === 'disk') {
    const disksize = body.disksize;
    if (typeof disksize !== 'number' || !Number.isInteger(disksize) || disksize <= 0) {
      throw new SimHttpError(400, "A new disk requires 'disksize' in bytes");
    }
    size = disksize;
  } else if (media === 'efidisk') {
    // pyVergeOS refuses a sized EFI disk: VergeOS would make a plain volume without the OVMF vars layout.
    if (body.disksize !== undefined && body.disksize !== null)
      throw new SimHttpError(422, "An EFI disk cannot have 'disksize': VergeOS creates its UEFI variable store itself");
    if (body.media_source !== undefined && body.media_source !== null) throw new SimHttpError(422, "An EFI disk cannot have 'media_source'");
    size = 1024 * 1024;
  }
  // Thin provisioning: a disk is allocated its size but uses only what is written (an image copied
  // in, an EFI store); room is refused on used, so allocation may pass capacity.
  const written = media === 'disk' ? 0 : size;
  if (size > Number(tier.capacity) - Number(tier.used)) throw new SimHttpError(507, `Insufficient storage on tier ${tierName}`);
  tier.used = Number(tier.used) + written;
  tier.allocated = Number(tier.allocated) + size;

  const key = String(world.nextKey('machine_drives'));
  const statusKey = world.nextKey('machine_drive_status');
  world.table('machine_drive_status').set(String(statusKey), { $key: statusKey, drive: Number(key), status, status_info: '' });
  const drivesOfMachine = [...world.table('machine_drives').values()].filter((d) => String(d.machine) === String(machine.$key)).length;
  world.table('machine_drives').set(key, {
    $key: Number(key),
    machine: machine.$key,
    name: body.name ?? `drive_${drivesOfMachine}`,
    description: body.description ?? '',
    media,
    interface: iface,
    disksize: size,
    preferred_tier: tierName,
    media_source: mediaSource ? mediaSource.$key : null,
    // The raw column is a key; `status#status` reads the text, as VergeOS's clients do.
    status: statusKey,
    _ready_at: status === 'importing' ? world.now() + world.timing.importMs : undefined,
    orderid: drivesOfMachine,
    // Bytes it holds on its tier's `used`, given back when it goes.
    _written: written,
  });
  return { key };
}

export function addNic(world: SimState, body: Row): { key: string } {
  const machine = world.machine(body.machine);
  if (body.vnet === undefined || body.vnet === null || body.vnet === '') throw new SimHttpError(400, "Missing required field 'vnet'");
  const vnet = world.table('vnets').get(text(body.vnet));
  if (!vnet) throw new SimHttpError(404, `Network '${text(body.vnet)}' not found`);
  const iface = text(body.interface ?? 'virtio');
  if (!(NIC_INTERFACES as readonly string[]).includes(iface)) throw new SimHttpError(422, `Invalid NIC interface '${iface}'`);
  const staticAddress = body.ipaddress === undefined || body.ipaddress === null || body.ipaddress === '' ? undefined : text(body.ipaddress);
  if (staticAddress !== undefined && isIP(staticAddress) === 0) throw new SimHttpError(400, `Invalid value for 'ipaddress': ${staticAddress}`);
  const key = String(world.nextKey('machine_nics'));
  const nicsOfMachine = [...world.table('machine_nics').values()].filter((n) => String(n.machine) === String(machine.$key)).length;
  world.table('machine_nics').set(key, {
    $key: Number(key),
    machine: machine.$key,
    name: body.name ?? `nic_${nicsOfMachine}`,
    vnet: vnet.$key,
    interface: iface,
    enabled: body.enabled === undefined ? true : body.enabled === true || body.enabled === 'true',
    macaddress: macAddress(Number(key)),
    // '' until known, as VergeOS reports it; SimState.refresh fills it in.
    ipaddress: staticAddress ?? '',
    _static_ipaddress: staticAddress,
    // Added to a running VM, the guest needs as long to get an address as after a power-on.
    _address_at: world.now() + world.timing.addressMs,
  });
  return { key };
}

/**
 * VergeOS's own clients send `type` with every device: a TPM has no resource group, every other
 * type must match its group's type. `count` attaches that many devices (the first key answers).
 */
export function addDevice(world: SimState, body: Row): { key: string; uuid: string } {
  const machine = world.machine(body.machine);
  const type = body.type;
  if (type === undefined || type === null || type === '') throw new SimHttpError(400, "Missing required field 'type'");
  if (typeof type !== 'string' || !(DEVICE_TYPES as readonly string[]).includes(type)) throw new SimHttpError(422, `Invalid device type '${text(type)}'`);
  if (body.settings_args !== undefined && (typeof body.settings_args !== 'object' || body.settings_args === null || Array.isArray(body.settings_args))) {
    throw new SimHttpError(400, "Invalid value for 'settings_args': expected an object");
  }
  const hasGroup = body.resource_group !== undefined && body.resource_group !== null && body.resource_group !== '';
  let group: Row | undefined;
  if (type === 'tpm') {
    if (hasGroup) throw new SimHttpError(422, 'A TPM device takes no resource group');
    const existing = [...world.table('machine_devices').values()].some((d) => String(d.machine) === String(machine.$key) && d.type === 'tpm');
    if (existing) throw new SimHttpError(409, `Machine '${String(machine.name)}' already has a TPM`);
  } else {
    if (!hasGroup) throw new SimHttpError(400, "Missing required field 'resource_group'");
    group = world.resourceGroup(body.resource_group);
    if (!group) throw new SimHttpError(404, `Resource group '${String(body.resource_group)}' not found`);
    if (group.enabled === false) throw new SimHttpError(422, `Resource group '${String(group.name)}' is disabled`);
    if (group.type !== type) throw new SimHttpError(422, `Device type '${type}' does not match resource group '${String(group.name)}' (${String(group.type)})`);
  }
  const count = body.count === undefined ? 1 : Number(body.count);
  if (!Number.isInteger(count) || count < 1 || count > 64) throw new SimHttpError(400, `Invalid value for 'count': ${String(body.count)}`);
  let first: { key: string; uuid: string } | undefined;
  for (let i = 0; i < count; i++) {
    const key = String(world.nextKey('machine_devices'));
    const uuid = randomUUID();
    world.table('machine_devices').set(key, {
      $key: Number(key),
      machine: machine.$key,
      // What kind of machine holds it (pyVergeOS's `machine_type`): every machine here is a VM's.
      machine_type: 'vm',
      type,
      // Stored as the group's key, as pyVergeOS reads it back; `resource_group#uuid` gives the uuid.
      resource_group: group ? group.$key : null,
      name: group ? group.name : 'tpm',
      uuid,
      settings_args: body.settings_args ?? {},
    });
    first ??= { key, uuid };
  }
  return first!;
}

function checkEnum(body: Row, field: string, allowed: readonly string[]): void {
  const value = body[field];
  if (value === undefined) return;
  if (typeof value !== 'string' || !allowed.includes(value)) throw new SimHttpError(422, `Invalid value '${text(value)}' for field '${field}'`);
}

/** The MAC VergeOS would give a new NIC; derived from its key so every NIC's differs. */
export function macAddress(nicKey: number): string {
  return `52:54:00:${hex(nicKey >> 16)}:${hex(nicKey >> 8)}:${hex(nicKey)}`;
}

function hex(n: number): string {
  return (n & 0xff).toString(16).padStart(2, '0');
}
