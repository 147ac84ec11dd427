/**
 * The simulator's world: tables of rows, separate key counters per table (so a VM key is never
 * mistaken for a machine key by coincidence of numbering), and the rules VergeOS enforces on
 * create, power and delete. Everything throws SimHttpError with VergeOS's status and `err` text.
 */
import { randomUUID } from 'node:crypto';
import { defaultInventory, type Inventory } from './inventory.js';
import type { Row } from './query.js';
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
  VM_ACTIONS,
} from '../vergeos/enums.js';
import { text } from '../text.js';

export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    readonly err: string,
  ) {
    super(err);
  }
}

export interface SimTiming {
  /** How long an `import` or `clone` drive stays `importing`. */
  importMs: number;
  /** starting → running. */
  startMs: number;
  /** stopping → stopped after an ACPI poweroff. */
  stopMs: number;
}

export interface SimBehaviour {
  /** Status for a duplicate VM name: 409 on current releases, 422 on older ones. */
  nameTakenStatus: 409 | 422;
  /** Status for a successful DELETE: 200, or 204 on some releases. */
  deleteStatus: 200 | 204;
}

export const TABLES = [
  'clusters',
  'vnets',
  'files',
  'storage_tiers',
  'resource_groups',
  'node_nvidia_vgpu_devices',
  'vms',
  'machines',
  'machine_status',
  'machine_drives',
  'machine_drive_status',
  'machine_nics',
  'machine_devices',
  'cluster_status',
  'system',
] as const;
export type TableName = (typeof TABLES)[number];

/** Which table a foreign-key field points into, for `a#b#c` field joins. */
export const FOREIGN_KEYS: Record<string, TableName> = {
  machine: 'machines',
  status: 'machine_status',
  vm: 'vms',
  cluster: 'clusters',
  vnet: 'vnets',
  media_source: 'files',
  resource_group: 'resource_groups',
};

/** Where a field of one table points elsewhere than FOREIGN_KEYS says (a drive's status row). */
const TABLE_FOREIGN_KEYS: Partial<Record<TableName, Record<string, TableName>>> = {
  machine_drives: { status: 'machine_drive_status' },
};

const FIRST_KEY: Partial<Record<TableName, number>> = {
  vms: 40,
  machines: 50,
  machine_status: 300,
  machine_drives: 1000,
  machine_drive_status: 5000,
  machine_nics: 2000,
  machine_devices: 1,
};

export class SimState {
  readonly tables = new Map<TableName, Map<string, Row>>();
  #counters = new Map<TableName, number>();

  constructor(
    readonly timing: SimTiming,
    readonly behaviour: SimBehaviour,
    private readonly now: () => number = Date.now,
    inventory: Inventory = defaultInventory(),
  ) {
    for (const t of TABLES) this.tables.set(t, new Map());
    for (const [table, rows] of Object.entries(inventory) as Array<[TableName, Row[]]>) {
      for (const row of rows) this.table(table).set(String(row.$key ?? row.uuid), { ...row });
    }
    for (const [t, first] of Object.entries(FIRST_KEY) as Array<[TableName, number]>) this.#counters.set(t, first);
    this.#seedExistingVms();
  }

  table(name: TableName): Map<string, Row> {
    return this.tables.get(name)!;
  }

  #nextKey(table: TableName): number {
    const n = this.#counters.get(table) ?? 1;
    this.#counters.set(table, n + 1);
    return n;
  }

  /** An existing VM and a snapshot, so lookups must tell live VMs from snapshots. */
  #seedExistingVms(): void {
    this.createVm({ name: 'legacy-db', description: 'PostgreSQL 12, do not touch', cluster: '1', ram: 16384, cpu_cores: 4 });
    const snap = this.createVm({ name: 'web-template', description: 'snapshot of the old web tier', cluster: '1', ram: 4096, cpu_cores: 2 });
    this.table('vms').get(snap.vmKey)!.is_snapshot = true;
  }

  // ---- lookups ------------------------------------------------------------------------------

  /** Resolve `machine#status#running`-style paths of a row of `table` (and `count(resources)`). */
  resolvePath(row: Row, path: string[], table?: TableName): unknown {
    if (path.length === 1 && path[0] === 'count(resources)') return row.resource_count ?? 0;
    let current: Row | undefined = row;
    let at = table;
    for (let i = 0; i < path.length - 1; i++) {
      const seg = path[i]!;
      const target = (at && TABLE_FOREIGN_KEYS[at]?.[seg]) ?? FOREIGN_KEYS[seg];
      if (!current || !target) return undefined;
      current = this.table(target).get(String(current[seg]));
      at = target;
    }
    return current?.[path[path.length - 1]!];
  }

  /** A drive's status text; its row holds only the key of its machine_drive_status row, as VergeOS's does. */
  driveStatus(drive: Row): string {
    return text(this.table('machine_drive_status').get(String(drive.status))?.status ?? '');
  }

  #setDriveStatus(drive: Row, status: string): void {
    const row = this.table('machine_drive_status').get(String(drive.status));
    if (row) row.status = status;
  }

  /** A resource group by uuid (its primary key) or by `$key`. */
  resourceGroup(ref: unknown): Row | undefined {
    const wanted = String(ref).toLowerCase();
    for (const group of this.table('resource_groups').values()) {
      if (String(group.uuid).toLowerCase() === wanted || String(group.$key) === wanted) return group;
    }
    return undefined;
  }

  /** Status values are computed from timestamps, so time passes without timers. */
  refresh(): void {
    const now = this.now();
    for (const drive of this.table('machine_drives').values()) {
      if (typeof drive._ready_at === 'number' && now >= drive._ready_at && this.driveStatus(drive) === 'importing') {
        this.#setDriveStatus(drive, 'online');
        delete drive._ready_at;
      }
    }
    for (const st of this.table('machine_status').values()) {
      if (st.status === 'starting' && typeof st._transition_at === 'number' && now >= st._transition_at) {
        st.status = 'running';
        st.running = true;
      }
      if (st.status === 'stopping' && typeof st._transition_at === 'number' && now >= st._transition_at) {
        st.status = 'stopped';
        st.running = false;
      }
    }
    // Cluster use: the other workloads' base plus every running VM of the simulator.
    for (const cs of this.table('cluster_status').values()) {
      let ram = Number(cs._base_ram ?? 0);
      let cores = Number(cs._base_cores ?? 0);
      for (const vm of this.table('vms').values()) {
        if (String(vm.cluster) !== String(cs.cluster) || vm.is_snapshot) continue;
        const machine = this.table('machines').get(String(vm.machine));
        const status = machine ? this.table('machine_status').get(String(machine.status)) : undefined;
        if (status?.running === true || status?.status === 'running' || status?.status === 'starting') {
          ram += Number(vm.ram);
          cores += Number(vm.cpu_cores);
        }
      }
      cs.used_ram = ram;
      cs.used_cores = cores;
    }
  }

  #machine(key: unknown): Row {
    if (key === undefined || key === null || key === '') throw new SimHttpError(400, "Missing required field 'machine'");
    const machine = this.table('machines').get(text(key));
    if (!machine) throw new SimHttpError(404, `Machine '${text(key)}' not found`);
    return machine;
  }

  #statusOf(machineKey: string): Row {
    const machine = this.table('machines').get(machineKey)!;
    return this.table('machine_status').get(String(machine.status))!;
  }

  // ---- create -------------------------------------------------------------------------------

  createVm(body: Row): { vmKey: string; machineKey: string } {
    const name = body.name;
    if (typeof name !== 'string' || name.trim() === '') throw new SimHttpError(400, "Missing required field 'name'");
    for (const vm of this.table('vms').values()) {
      if (vm.name === name && !vm.is_snapshot) throw new SimHttpError(this.behaviour.nameTakenStatus, `The name '${name}' is already in use`);
    }
    if (body.cluster !== undefined && body.cluster !== '') {
      const cluster = this.table('clusters').get(text(body.cluster));
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

    const vmKey = String(this.#nextKey('vms'));
    const machineKey = String(this.#nextKey('machines'));
    const statusKey = String(this.#nextKey('machine_status'));
    this.table('machine_status').set(statusKey, { $key: Number(statusKey), machine: Number(machineKey), status: 'stopped', running: false });
    this.table('machines').set(machineKey, { $key: Number(machineKey), name, vm: Number(vmKey), status: Number(statusKey) });
    this.table('vms').set(vmKey, {
      $key: Number(vmKey),
      name,
      description: body.description ?? '',
      cluster: body.cluster === undefined ? 1 : Number(body.cluster),
      machine: Number(machineKey),
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
      created: Math.floor(this.now() / 1000),
    });
    return { vmKey, machineKey };
  }

  addDrive(body: Row): { key: string } {
    const machine = this.#machine(body.machine);
    const media = text(body.media ?? 'disk');
    if (!(DRIVE_MEDIA as readonly string[]).includes(media)) throw new SimHttpError(422, `Unsupported media type '${media}'`);
    const iface = text(body.interface ?? 'virtio-scsi');
    if (!(DRIVE_INTERFACES as readonly string[]).includes(iface)) throw new SimHttpError(422, `Invalid drive interface '${iface}'`);
    const tierName = text(body.preferred_tier ?? '1');
    const tier = [...this.table('storage_tiers').values()].find((t) => String(t.tier) === tierName);
    if (!tier) throw new SimHttpError(422, `Storage tier '${tierName}' does not exist`);

    let size = 0;
    let status = 'online';
    let mediaSource: Row | undefined;
    if (media === 'cdrom' || media === 'import' || media === 'clone') {
      if (body.media_source === undefined || body.media_source === null || body.media_source === '') {
        throw new SimHttpError(400, `Media type '${media}' requires 'media_source'`);
      }
      mediaSource = this.table('files').get(text(body.media_source));
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
    const free = Number(tier.capacity) - Math.max(Number(tier.used), Number(tier.allocated));
    if (size > free) throw new SimHttpError(507, `Insufficient storage on tier ${tierName}`);
    tier.used = Number(tier.used) + size;
    tier.allocated = Number(tier.allocated) + size;

    const key = String(this.#nextKey('machine_drives'));
    const statusKey = this.#nextKey('machine_drive_status');
    this.table('machine_drive_status').set(String(statusKey), { $key: statusKey, drive: Number(key), status, status_info: '' });
    const drivesOfMachine = [...this.table('machine_drives').values()].filter((d) => String(d.machine) === String(machine.$key)).length;
    this.table('machine_drives').set(key, {
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
      _ready_at: status === 'importing' ? this.now() + this.timing.importMs : undefined,
      orderid: drivesOfMachine,
    });
    return { key };
  }

  addNic(body: Row): { key: string } {
    const machine = this.#machine(body.machine);
    if (body.vnet === undefined || body.vnet === null || body.vnet === '') throw new SimHttpError(400, "Missing required field 'vnet'");
    const vnet = this.table('vnets').get(text(body.vnet));
    if (!vnet) throw new SimHttpError(404, `Network '${text(body.vnet)}' not found`);
    const iface = text(body.interface ?? 'virtio');
    if (!(NIC_INTERFACES as readonly string[]).includes(iface)) throw new SimHttpError(422, `Invalid NIC interface '${iface}'`);
    const key = String(this.#nextKey('machine_nics'));
    const nicsOfMachine = [...this.table('machine_nics').values()].filter((n) => String(n.machine) === String(machine.$key)).length;
    this.table('machine_nics').set(key, {
      $key: Number(key),
      machine: machine.$key,
      name: body.name ?? `nic_${nicsOfMachine}`,
      vnet: vnet.$key,
      interface: iface,
      enabled: body.enabled === undefined ? true : body.enabled === true || body.enabled === 'true',
      macaddress: `52:54:00:${hex(Number(key) >> 16)}:${hex(Number(key) >> 8)}:${hex(Number(key))}`,
    });
    return { key };
  }

  /**
   * VergeOS's own clients send `type` with every device: a TPM has no resource group, every other
   * type must match its group's type. `count` attaches that many devices (the first key answers).
   */
  addDevice(body: Row): { key: string; uuid: string } {
    const machine = this.#machine(body.machine);
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
      const existing = [...this.table('machine_devices').values()].some((d) => String(d.machine) === String(machine.$key) && d.type === 'tpm');
      if (existing) throw new SimHttpError(409, `Machine '${String(machine.name)}' already has a TPM`);
    } else {
      if (!hasGroup) throw new SimHttpError(400, "Missing required field 'resource_group'");
      group = this.resourceGroup(body.resource_group);
      if (!group) throw new SimHttpError(404, `Resource group '${String(body.resource_group)}' not found`);
      if (group.enabled === false) throw new SimHttpError(422, `Resource group '${String(group.name)}' is disabled`);
      if (group.type !== type)
        throw new SimHttpError(422, `Device type '${type}' does not match resource group '${String(group.name)}' (${String(group.type)})`);
    }
    const count = body.count === undefined ? 1 : Number(body.count);
    if (!Number.isInteger(count) || count < 1 || count > 64) throw new SimHttpError(400, `Invalid value for 'count': ${String(body.count)}`);
    let first: { key: string; uuid: string } | undefined;
    for (let i = 0; i < count; i++) {
      const key = String(this.#nextKey('machine_devices'));
      const uuid = randomUUID();
      this.table('machine_devices').set(key, {
        $key: Number(key),
        machine: machine.$key,
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

  // ---- power and delete ---------------------------------------------------------------------

  vmAction(body: Row): void {
    if (body.vm === undefined || body.vm === null || body.vm === '') throw new SimHttpError(400, "Missing required field 'vm'");
    const vm = this.table('vms').get(text(body.vm));
    if (!vm || vm.is_snapshot) throw new SimHttpError(404, `VM '${text(body.vm)}' not found`);
    const action = text(body.action ?? '');
    if (!(VM_ACTIONS as readonly string[]).includes(action)) throw new SimHttpError(422, `Invalid action '${action}'`);
    this.refresh();
    const status = this.#statusOf(String(vm.machine));
    const running = status.status === 'running' || status.status === 'starting';
    if (action === 'poweron') {
      if (running) throw new SimHttpError(409, `VM '${String(vm.name)}' is already running`);
      const importing = [...this.table('machine_drives').values()].find((d) => String(d.machine) === String(vm.machine) && this.driveStatus(d) === 'importing');
      if (importing) throw new SimHttpError(409, `Cannot power on while drive '${String(importing.name)}' is importing`);
      status.status = this.timing.startMs > 0 ? 'starting' : 'running';
      status.running = this.timing.startMs <= 0;
      status._transition_at = this.now() + this.timing.startMs;
    } else if (action === 'poweroff') {
      if (!running) throw new SimHttpError(409, `VM '${String(vm.name)}' is not running`);
      status.status = this.timing.stopMs > 0 ? 'stopping' : 'stopped';
      status.running = this.timing.stopMs > 0;
      status._transition_at = this.now() + this.timing.stopMs;
    } else if (action === 'kill') {
      status.status = 'stopped';
      status.running = false;
    } else if (!running) {
      throw new SimHttpError(409, `VM '${String(vm.name)}' is not running`);
    }
  }

  deleteVm(key: string): void {
    const vm = this.table('vms').get(key);
    if (!vm) throw new SimHttpError(404, `VM '${key}' not found`);
    this.refresh();
    const machineKey = String(vm.machine);
    const status = this.#statusOf(machineKey);
    if (status.status !== 'stopped') throw new SimHttpError(409, `VM '${String(vm.name)}' is ${String(status.status)}; power it off first`);
    for (const [dk, drive] of this.table('machine_drives')) {
      if (String(drive.machine) !== machineKey) continue;
      const tier = [...this.table('storage_tiers').values()].find((t) => String(t.tier) === String(drive.preferred_tier));
      if (tier) {
        tier.used = Number(tier.used) - Number(drive.disksize);
        tier.allocated = Number(tier.allocated) - Number(drive.disksize);
      }
      this.table('machine_drive_status').delete(String(drive.status));
      this.table('machine_drives').delete(dk);
    }
    for (const table of ['machine_nics', 'machine_devices'] as const) {
      for (const [k, row] of this.table(table)) if (String(row.machine) === machineKey) this.table(table).delete(k);
    }
    this.table('machine_status').delete(String(this.table('machines').get(machineKey)?.status));
    this.table('machines').delete(machineKey);
    this.table('vms').delete(key);
  }
}

function checkEnum(body: Row, field: string, allowed: readonly string[]): void {
  const value = body[field];
  if (value === undefined) return;
  if (typeof value !== 'string' || !allowed.includes(value)) throw new SimHttpError(422, `Invalid value '${text(value)}' for field '${field}'`);
}

function hex(n: number): string {
  return (n & 0xff).toString(16).padStart(2, '0');
}
