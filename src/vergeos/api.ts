/**
 * What the rest of the bot needs from VergeOS, as one interface: the client implements it, and
 * wrappers (the inventory cache) pass it through.
 */
import type { RequestBudget } from './budget.js';
import type { VergeosRecipesApi } from './recipes-client.js';
import type {
  Cluster,
  ClusterStatus,
  Created,
  CreatedDevice,
  CreatedVm,
  Device,
  DeviceCreateBody,
  Drive,
  DriveCreateBody,
  MachineStatus,
  MediaFile,
  Nic,
  NicCreateBody,
  ResourceGroup,
  Snapshot,
  StorageTier,
  SystemInfo,
  VgpuDevice,
  Vm,
  VmAction,
  VmCreateBody,
  Vnet,
} from './types.js';

/** What the rest of the bot needs from VergeOS (its own recipes: recipes-client.ts); tests may swap in another implementation. */
export interface VergeosApi extends VergeosRecipesApi {
  createVm(body: VmCreateBody): Promise<CreatedVm>;
  addDrive(body: DriveCreateBody): Promise<Created>;
  addNic(body: NicCreateBody): Promise<Created>;
  addDevice(body: DeviceCreateBody): Promise<CreatedDevice>;
  vmAction(vmKey: string, action: VmAction): Promise<void>;
  powerOn(vmKey: string): Promise<void>;
  machineStatus(machineKey: string): Promise<MachineStatus | undefined>;
  findVmByName(name: string): Promise<Vm | undefined>;
  findVmsByName(names: string[]): Promise<Vm[]>;
  getVm(vmKey: string): Promise<Vm>;
  deleteVm(vmKey: string): Promise<void>;
  listDrives(machineKey: string): Promise<Drive[]>;
  /** With each NIC's `ipaddress` (undefined until VergeOS knows it) and `macaddress`. */
  listNics(machineKey: string): Promise<Nic[]>;
  listDevices(machineKey: string): Promise<Device[]>;
  /** Every live VM (snapshots excluded), key, name and machine only: one call, for sweeps over all the bot's VMs. */
  listLiveVms(): Promise<Vm[]>;
  /** The status rows of these machines, in one call. */
  machineStatuses(machineKeys: readonly string[]): Promise<MachineStatus[]>;
  /** The NICs of these machines, in one call (as listNics). */
  listNicsOf(machineKeys: readonly string[]): Promise<Nic[]>;
  listClusters(): Promise<Cluster[]>;
  listVnets(): Promise<Vnet[]>;
  listMediaFiles(): Promise<MediaFile[]>;
  listStorageTiers(): Promise<StorageTier[]>;
  listResourceGroups(): Promise<ResourceGroup[]>;
  /** How many devices of each resource group running machines hold (by group uuid); stopped VMs and snapshots hold none. */
  countDevicesInUse(): Promise<Map<string, number>>;
  listClusterStatus(): Promise<ClusterStatus[]>;
  listVgpuDevices(): Promise<VgpuDevice[]>;
  /** `GET /system`: VergeOS answered and the credentials work (what pyVergeOS connects with). */
  systemInfo(): Promise<SystemInfo>;
  /** PUT /vms/{vmKey} {cpu_cores, ram (MB)}. Sent once: NOT retried by the transport (a lost answer is looked up with getVm by the caller). */
  updateVmSize(vmKey: string, size: { cpu_cores: number; ram: number }): Promise<void>;
  /** PUT /machine_drives/{driveKey} {disksize (bytes)}. Sent once (no transport retry). */
  growDrive(driveKey: string, disksize: number): Promise<void>;
  /** POST /machine_snapshots; `expires` in unix seconds with expires_type 'date', or expires_type 'never' without `expiresAt`. */
  createSnapshot(body: {
    machine: string;
    name: string;
    expiresAt?: Date | undefined;
    quiesce?: boolean | undefined;
    description?: string | undefined;
  }): Promise<Created>;
  /** A machine's snapshots, newest first. */
  listSnapshots(machineKey: string): Promise<Snapshot[]>;
  /** DELETE /machine_snapshots/{key}; a retried DELETE that finds it gone counts as done (as deleteVm). */
  deleteSnapshot(snapshotKey: string): Promise<void>;
  /** The VM key of a snapshot's hidden VM row (`is_snapshot` true), found by its `snap_machine` (gov's vmKeyForMachine). */
  snapshotVmKey(snapMachineKey: string): Promise<string | undefined>;
  /** POST /vm_actions restore, in place: `vm` is the snapshot's VM key, `params.snapshot` the machine_snapshots key (gov's Restore). */
  restoreSnapshot(snapshotVmKey: string, snapshotKey: string): Promise<void>;
  /** POST /vm_actions clone with new MACs → the new VM's keys when VergeOS answers with them, else {} (look it up by name). */
  cloneVm(vmKey: string, name: string): Promise<{ vmKey?: string; machineKey?: string }>;
  /** When VergeOS last answered a call as a working VergeOS does (2xx, or a 4xx about the request, not the credentials): epoch ms. */
  lastAnswerAt(): number | undefined;
  /** When a call last found VergeOS not working (unreachable, timed out, 5xx, credentials refused): epoch ms. */
  lastTroubleAt(): number | undefined;
  /** The request budget its calls are paced by (VERGEOS_RATE_LIMIT); undefined when off. */
  readonly budget?: RequestBudget | undefined;
  close(): Promise<void>;
}
