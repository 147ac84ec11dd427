/**
 * VergeOS with its inventory lists (clusters, networks, media, storage tiers, device groups)
 * reused for a short while and shared: the form's pickers, pre-flight and the options read the
 * same lists many times a minute, and VergeOS allows 1000 calls an hour per key. A list being
 * fetched is shared by everyone who asks meanwhile; a failure is never kept (the next caller asks
 * again). Storage tiers change with the bot's own writes (drives, VMs, clones, snapshots, grown
 * disks), so every write through here forgets them, and a list fetched across a write is not kept.
 * A check just before a write (a run's device groups before its first POST) reads through
 * `asOfNow()`, which asks VergeOS every time and keeps the answer for the others. Everything else
 * goes straight to VergeOS.
 */
import type { RequestBudget } from './budget.js';
import type { VergeosApi } from './client.js';
import type { ListVmRecipesOptions, RecipeDeployment } from './recipes-client.js';
import type { RecipeInstance, RecipeQuestion, RecipeSection, SimulationReport, VmRecipe } from './recipe-types.js';
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

type ListName = 'clusters' | 'vnets' | 'media' | 'tiers' | 'groups';

interface Kept {
  at: number;
  rows: readonly unknown[];
}

/** What every view of one cache shares. */
interface Lists {
  ttlMs: number;
  now: () => number;
  kept: Map<ListName, Kept>;
  fetching: Map<ListName, Promise<readonly unknown[]>>;
  /** Bumped by every write that may change storage tiers: a tier list fetched across one is not kept. */
  tierWrites: number;
}

export class InventoryCachingVergeos implements VergeosApi {
  readonly #api: VergeosApi;
  #lists: Lists;
  /** Every list asked of VergeOS now (the `asOfNow` view). */
  #asOfNow = false;

  constructor(api: VergeosApi, options: { ttlMs: number; now?: () => number }) {
    this.#api = api;
    this.#lists = { ttlMs: options.ttlMs, now: options.now ?? Date.now, kept: new Map(), fetching: new Map(), tierWrites: 0 };
  }

  /** The same VergeOS and cache, but each list read afresh (and kept for the others): for checks just before a write. */
  asOfNow(): InventoryCachingVergeos {
    const view = new InventoryCachingVergeos(this.#api, { ttlMs: 0 });
    view.#lists = this.#lists;
    view.#asOfNow = true;
    return view;
  }

  // ---- the inventory lists, kept for the TTL ----

  listClusters(): Promise<Cluster[]> {
    return this.#list('clusters', () => this.#api.listClusters());
  }

  listVnets(): Promise<Vnet[]> {
    return this.#list('vnets', () => this.#api.listVnets());
  }

  listMediaFiles(): Promise<MediaFile[]> {
    return this.#list('media', () => this.#api.listMediaFiles());
  }

  listStorageTiers(): Promise<StorageTier[]> {
    return this.#list('tiers', () => this.#api.listStorageTiers());
  }

  listResourceGroups(): Promise<ResourceGroup[]> {
    return this.#list('groups', () => this.#api.listResourceGroups());
  }

  /** Each caller gets its own array (a caller sorting it does not reorder another's). */
  async #list<T>(name: ListName, load: () => Promise<T[]>): Promise<T[]> {
    const lists = this.#lists;
    const kept = lists.kept.get(name);
    if (!this.#asOfNow && kept && lists.now() - kept.at < lists.ttlMs) return [...(kept.rows as T[])];
    let fetching = this.#asOfNow ? undefined : (lists.fetching.get(name) as Promise<T[]> | undefined);
    if (!fetching) {
      const writesBefore = lists.tierWrites;
      const settled = () => {
        // Only its own entry: a write may have dropped it and another fetch taken its place.
        if (lists.fetching.get(name) === fetching) lists.fetching.delete(name);
      };
      fetching = load().then(
        (rows) => {
          settled();
          if (lists.ttlMs > 0 && (name !== 'tiers' || writesBefore === lists.tierWrites)) lists.kept.set(name, { at: lists.now(), rows });
          return rows;
        },
        (err: unknown) => {
          settled();
          throw err;
        },
      );
      if (!this.#asOfNow) lists.fetching.set(name, fetching);
    }
    return [...(await fetching)];
  }

  /** A write that may take or free storage: the tiers are read afresh next time (whatever its outcome). */
  async #changingTiers<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      const lists = this.#lists;
      lists.tierWrites++;
      lists.kept.delete('tiers');
      // A fetch in flight may have read VergeOS before the write: later callers do not join it.
      lists.fetching.delete('tiers');
    }
  }

  // ---- writes that change storage ----

  createVm(body: VmCreateBody): Promise<CreatedVm> {
    return this.#changingTiers(() => this.#api.createVm(body));
  }

  addDrive(body: DriveCreateBody): Promise<Created> {
    return this.#changingTiers(() => this.#api.addDrive(body));
  }

  deleteVm(vmKey: string): Promise<void> {
    return this.#changingTiers(() => this.#api.deleteVm(vmKey));
  }

  growDrive(driveKey: string, disksize: number): Promise<void> {
    return this.#changingTiers(() => this.#api.growDrive(driveKey, disksize));
  }

  createSnapshot(body: Parameters<VergeosApi['createSnapshot']>[0]): Promise<Created> {
    return this.#changingTiers(() => this.#api.createSnapshot(body));
  }

  deleteSnapshot(snapshotKey: string): Promise<void> {
    return this.#changingTiers(() => this.#api.deleteSnapshot(snapshotKey));
  }

  restoreSnapshot(snapshotVmKey: string, snapshotKey: string): Promise<void> {
    return this.#changingTiers(() => this.#api.restoreSnapshot(snapshotVmKey, snapshotKey));
  }

  cloneVm(vmKey: string, name: string): Promise<{ vmKey?: string; machineKey?: string }> {
    return this.#changingTiers(() => this.#api.cloneVm(vmKey, name));
  }

  // ---- everything else, straight through ----

  addNic(body: NicCreateBody): Promise<Created> {
    return this.#api.addNic(body);
  }

  addDevice(body: DeviceCreateBody): Promise<CreatedDevice> {
    return this.#api.addDevice(body);
  }

  vmAction(vmKey: string, action: VmAction): Promise<void> {
    return this.#api.vmAction(vmKey, action);
  }

  powerOn(vmKey: string): Promise<void> {
    return this.#api.powerOn(vmKey);
  }

  machineStatus(machineKey: string): Promise<MachineStatus | undefined> {
    return this.#api.machineStatus(machineKey);
  }

  findVmByName(name: string): Promise<Vm | undefined> {
    return this.#api.findVmByName(name);
  }

  findVmsByName(names: string[]): Promise<Vm[]> {
    return this.#api.findVmsByName(names);
  }

  getVm(vmKey: string): Promise<Vm> {
    return this.#api.getVm(vmKey);
  }

  listDrives(machineKey: string): Promise<Drive[]> {
    return this.#api.listDrives(machineKey);
  }

  listNics(machineKey: string): Promise<Nic[]> {
    return this.#api.listNics(machineKey);
  }

  listDevices(machineKey: string): Promise<Device[]> {
    return this.#api.listDevices(machineKey);
  }

  listLiveVms(): Promise<Vm[]> {
    return this.#api.listLiveVms();
  }

  machineStatuses(machineKeys: readonly string[]): Promise<MachineStatus[]> {
    return this.#api.machineStatuses(machineKeys);
  }

  listNicsOf(machineKeys: readonly string[]): Promise<Nic[]> {
    return this.#api.listNicsOf(machineKeys);
  }

  countDevicesInUse(): Promise<Map<string, number>> {
    return this.#api.countDevicesInUse();
  }

  listClusterStatus(): Promise<ClusterStatus[]> {
    return this.#api.listClusterStatus();
  }

  listVgpuDevices(): Promise<VgpuDevice[]> {
    return this.#api.listVgpuDevices();
  }

  systemInfo(): Promise<SystemInfo> {
    return this.#api.systemInfo();
  }

  updateVmSize(vmKey: string, size: { cpu_cores: number; ram: number }): Promise<void> {
    return this.#api.updateVmSize(vmKey, size);
  }

  listSnapshots(machineKey: string): Promise<Snapshot[]> {
    return this.#api.listSnapshots(machineKey);
  }

  snapshotVmKey(snapMachineKey: string): Promise<string | undefined> {
    return this.#api.snapshotVmKey(snapMachineKey);
  }

  // VergeOS's own recipes, straight through (a deploy makes a VM and its disk: the tiers are read afresh).

  listVmRecipes(options?: ListVmRecipesOptions): Promise<VmRecipe[]> {
    return this.#api.listVmRecipes(options);
  }

  recipeSections(recipeKey: string): Promise<RecipeSection[]> {
    return this.#api.recipeSections(recipeKey);
  }

  recipeQuestions(recipeKey: string): Promise<RecipeQuestion[]> {
    return this.#api.recipeQuestions(recipeKey);
  }

  simulateRecipe(deployment: RecipeDeployment): Promise<SimulationReport> {
    return this.#api.simulateRecipe(deployment);
  }

  deployRecipe(deployment: RecipeDeployment): Promise<{ instanceKey: string }> {
    return this.#changingTiers(() => this.#api.deployRecipe(deployment));
  }

  getRecipeInstance(instanceKey: string): Promise<RecipeInstance> {
    return this.#api.getRecipeInstance(instanceKey);
  }

  findRecipeInstanceByName(name: string): Promise<RecipeInstance | undefined> {
    return this.#api.findRecipeInstanceByName(name);
  }

  get budget(): RequestBudget | undefined {
    return this.#api.budget;
  }

  lastAnswerAt(): number | undefined {
    return this.#api.lastAnswerAt();
  }

  lastTroubleAt(): number | undefined {
    return this.#api.lastTroubleAt();
  }

  close(): Promise<void> {
    return this.#api.close();
  }
}
