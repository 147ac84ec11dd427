/**
 * The simulator's world: tables of rows, separate key counters per table (so a VM key is never
 * mistaken for a machine key by coincidence of numbering), time passing for imports and power
 * states, and the rules VergeOS enforces on power and delete (those on create are in
 * create-rules.ts, those on changes to a VM — resize, grow, snapshots, restore, clone — in day2-rules.ts). Everything throws SimHttpError with VergeOS's status and `err` text.
 */
import * as createRules from './create-rules.js';
import * as day2Rules from './day2-rules.js';
import { defaultInventory, type Inventory } from './inventory.js';
import { instanceCount } from './recipe-rules.js';
import { recipeSeed } from './recipes-seed.js';
import type { Row } from './query.js';
import { FIRST_KEY, FOREIGN_KEYS, SimHttpError, TABLE_FOREIGN_KEYS, TABLES, type SimBehaviour, type SimTiming, type TableName } from './schema.js';
import { VM_ACTIONS } from '../vergeos/enums.js';
import { text } from '../text.js';

export class SimState {
  readonly tables = new Map<TableName, Map<string, Row>>();
  #counters = new Map<TableName, number>();

  constructor(
    readonly timing: SimTiming,
    readonly behaviour: SimBehaviour,
    /** The clock imports and power states run on. */
    readonly now: () => number = Date.now,
    inventory: Inventory = defaultInventory(),
  ) {
    for (const t of TABLES) this.tables.set(t, new Map());
    for (const [table, rows] of Object.entries(inventory) as Array<[TableName, Row[]]>) {
      for (const row of rows) this.table(table).set(String(row.$key ?? row.uuid), { ...row });
    }
    for (const [table, rows] of Object.entries(recipeSeed(now())) as Array<[TableName, Row[]]>) {
      for (const row of rows) this.table(table).set(String(row.$key), { ...row });
    }
    for (const [t, first] of Object.entries(FIRST_KEY) as Array<[TableName, number]>) this.#counters.set(t, first);
    this.#seedExistingVms();
  }

  table(name: TableName): Map<string, Row> {
    return this.tables.get(name)!;
  }

  /** The next key of `table` (each table counts on its own). */
  nextKey(table: TableName): number {
    const n = this.#counters.get(table) ?? 1;
    this.#counters.set(table, n + 1);
    return n;
  }

  /**
   * An existing VM and a snapshot, so lookups must tell live VMs from snapshots; both stopped
   * with a GPU attached when the inventory has one, holding no hardware (as VergeOS counts it).
   */
  #seedExistingVms(): void {
    const legacy = this.createVm({ name: 'legacy-db', description: 'PostgreSQL 12, do not touch', cluster: '1', ram: 16384, cpu_cores: 4 });
    const snap = this.createVm({ name: 'web-template', description: 'snapshot of the old web tier', cluster: '1', ram: 4096, cpu_cores: 2 });
    this.table('vms').get(snap.vmKey)!.is_snapshot = true;
    const gpu = [...this.table('resource_groups').values()].find((g) => g.type === 'node_host_gpu_devices' && g.enabled !== false);
    if (!gpu) return;
    this.addDevice({ machine: legacy.machineKey, type: gpu.type, resource_group: gpu.$key });
    this.addDevice({ machine: snap.machineKey, type: gpu.type, resource_group: gpu.$key, count: 2 });
  }

  // ---- lookups ------------------------------------------------------------------------------

  /** Resolve `machine#status#running`-style paths of a row of `table` (and `count(resources)`). */
  resolvePath(row: Row, path: string[], table?: TableName): unknown {
    if (path.length === 1 && path[0] === 'count(resources)') return row.resource_count ?? 0;
    if (path.length === 1 && path[0] === 'count(instances)') return instanceCount(this, row);
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
        delete st._address_at;
      }
    }
    this.#refreshNicAddresses(now);
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

  /**
   * What each NIC reports as `ipaddress`, as VergeOS does: a static address always; otherwise ''
   * until the guest has been up `addressMs` (its status row's `_address_at`), and '' again once
   * the VM is off.
   */
  #refreshNicAddresses(now: number): void {
    for (const nic of this.table('machine_nics').values()) {
      if (typeof nic._static_ipaddress === 'string') {
        nic.ipaddress = nic._static_ipaddress;
        continue;
      }
      const machine = this.table('machines').get(String(nic.machine));
      const status = machine ? this.table('machine_status').get(String(machine.status)) : undefined;
      const up = status?.status === 'running' || status?.status === 'stopping';
      // A NIC added to a running VM: its own `_address_at` (added + addressMs) is the later one.
      const nicKnown = typeof nic._address_at !== 'number' || now >= nic._address_at;
      const known = up && typeof status._address_at === 'number' && now >= status._address_at && nicKnown;
      nic.ipaddress = known ? dhcpAddress(Number(nic.vnet), Number(nic.$key)) : '';
    }
  }

  /** The machine a request names, or VergeOS's 400/404. */
  machine(key: unknown): Row {
    if (key === undefined || key === null || key === '') throw new SimHttpError(400, "Missing required field 'machine'");
    const machine = this.table('machines').get(text(key));
    if (!machine) throw new SimHttpError(404, `Machine '${text(key)}' not found`);
    return machine;
  }

  /** The status row of a machine (which must exist). */
  statusOfMachine(machineKey: string): Row {
    const machine = this.table('machines').get(machineKey)!;
    return this.table('machine_status').get(String(machine.status))!;
  }

  // ---- create (rules in create-rules.ts) ----------------------------------------------------

  createVm(body: Row): { vmKey: string; machineKey: string } {
    return createRules.createVm(this, body);
  }

  addDrive(body: Row): { key: string } {
    return createRules.addDrive(this, body);
  }

  addNic(body: Row): { key: string } {
    return createRules.addNic(this, body);
  }

  addDevice(body: Row): { key: string; uuid: string } {
    return createRules.addDevice(this, body);
  }

  // ---- changes to a VM (rules in day2-rules.ts) ----------------------------------------------

  updateVm(key: string, body: Row): Row {
    return day2Rules.updateVm(this, key, body);
  }

  growDrive(key: string, body: Row): Row {
    return day2Rules.growDrive(this, key, body);
  }

  createSnapshot(body: Row): { key: string } {
    return day2Rules.createSnapshot(this, body);
  }

  deleteSnapshot(key: string): void {
    day2Rules.deleteSnapshot(this, key);
  }

  // ---- actions and delete -------------------------------------------------------------------

  /** Power actions, restore and clone; a clone answers VergeOS's `response` keys. */
  vmAction(body: Row): Row | undefined {
    if (body.vm === undefined || body.vm === null || body.vm === '') throw new SimHttpError(400, "Missing required field 'vm'");
    // Both take a snapshot's VM too (a restore only that), so they come before the live-VM lookup.
    if (body.action === 'restore') {
      day2Rules.restoreSnapshot(this, body);
      return undefined;
    }
    if (body.action === 'clone') return day2Rules.cloneVm(this, body);
    const vm = this.table('vms').get(text(body.vm));
    if (!vm || vm.is_snapshot) throw new SimHttpError(404, `VM '${text(body.vm)}' not found`);
    const action = text(body.action ?? '');
    if (!(VM_ACTIONS as readonly string[]).includes(action)) throw new SimHttpError(422, `Invalid action '${action}'`);
    this.refresh();
    const status = this.statusOfMachine(String(vm.machine));
    const running = status.status === 'running' || status.status === 'starting';
    if (action === 'poweron') {
      if (running) throw new SimHttpError(409, `VM '${String(vm.name)}' is already running`);
      const importing = [...this.table('machine_drives').values()].find((d) => String(d.machine) === String(vm.machine) && this.driveStatus(d) === 'importing');
      if (importing) throw new SimHttpError(409, `Cannot power on while drive '${String(importing.name)}' is importing`);
      day2Rules.checkClusterLimits(this, vm);
      // Started from stopped, the VM runs with its current CPU/RAM: nothing waits for a restart.
      vm.need_restart = false;
      status.status = this.timing.startMs > 0 ? 'starting' : 'running';
      status.running = this.timing.startMs <= 0;
      status._transition_at = this.now() + this.timing.startMs;
      status._address_at = this.now() + this.timing.startMs + this.timing.addressMs;
    } else if (action === 'poweroff') {
      if (!running) throw new SimHttpError(409, `VM '${String(vm.name)}' is not running`);
      status.status = this.timing.stopMs > 0 ? 'stopping' : 'stopped';
      status.running = this.timing.stopMs > 0;
      status._transition_at = this.now() + this.timing.stopMs;
    } else if (action === 'kill') {
      status.status = 'stopped';
      status.running = false;
      delete status._address_at;
    } else if (!running) {
      throw new SimHttpError(409, `VM '${String(vm.name)}' is not running`);
    }
    return undefined;
  }

  deleteVm(key: string): void {
    const vm = this.table('vms').get(key);
    if (!vm) throw new SimHttpError(404, `VM '${key}' not found`);
    this.refresh();
    const machineKey = String(vm.machine);
    const status = this.statusOfMachine(machineKey);
    if (status.status !== 'stopped') throw new SimHttpError(409, `VM '${String(vm.name)}' is ${String(status.status)}; power it off first`);
    for (const [dk, drive] of this.table('machine_drives')) if (String(drive.machine) === machineKey) day2Rules.removeDrive(this, dk, drive);
    for (const table of ['machine_nics', 'machine_devices'] as const) {
      for (const [k, row] of this.table(table)) if (String(row.machine) === machineKey) this.table(table).delete(k);
    }
    this.table('machine_status').delete(String(this.table('machines').get(machineKey)?.status));
    this.table('machines').delete(machineKey);
    this.table('vms').delete(key);
  }
}

/**
 * The address a network would hand a NIC, derived from its vnet and key so tests can predict it:
 * `10.<vnet>.<hi>.<lo>`, the last octet never 0, 1 or 255 (network, gateway, broadcast).
 */
export function dhcpAddress(vnet: number, nicKey: number): string {
  return `10.${vnet & 0xff}.${Math.floor(nicKey / 250) & 0xff}.${(nicKey % 250) + 2}`;
}
