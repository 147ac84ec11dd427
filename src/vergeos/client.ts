/**
 * The VergeOS API calls the bot makes, typed. Every response is parsed with zod at this edge;
 * keys come out as strings whatever VergeOS sent.
 */
import { inspect } from 'node:util';
import { z } from 'zod';
import { badResponse, numericFilterValue, numericIfPossible, parseBody, quote } from './wire.js';
import { VergeosTransport, type VergeosClientOptions } from './transport.js';
import { VGPU_DEVICE_TYPE } from './enums.js';
import type { RequestBudget } from './budget.js';
import { RecipesClient, type ListVmRecipesOptions, type RecipeDeployment } from './recipes-client.js';
import type { RecipeInstance, RecipeQuestion, RecipeSection, SimulationReport, VmRecipe } from './recipe-types.js';
import type { VergeosApi } from './api.js';
import { machineChunks, SNAPSHOT_FIELDS, VM_FIELDS } from './query-fields.js';

export type { VergeosApi } from './api.js';
import {
  clonedSchema,
  clusterSchema,
  clusterStatusSchema,
  createdDeviceSchema,
  createdSchema,
  createdVmSchema,
  deviceSchema,
  driveSchema,
  machineStatusSchema,
  mediaFileSchema,
  nicSchema,
  resourceGroupSchema,
  snapshotSchema,
  snapshotVmRowSchema,
  storageTierSchema,
  systemInfoSchema,
  vgpuDeviceSchema,
  vmSchema,
  vnetSchema,
  type Cluster,
  type ClusterStatus,
  type Created,
  type CreatedDevice,
  type CreatedVm,
  type Device,
  type DeviceCreateBody,
  type Drive,
  type DriveCreateBody,
  type MachineStatus,
  type MediaFile,
  type Nic,
  type NicCreateBody,
  type ResourceGroup,
  type Snapshot,
  type StorageTier,
  type SystemInfo,
  type VgpuDevice,
  type Vm,
  type VmAction,
  type VmCreateBody,
  type Vnet,
} from './types.js';

const deviceGroupSchema = z.object({ resource_group: z.union([z.string(), z.number()]).nullish(), resource_group_uuid: z.string().nullish() });
/** A device's group as stored (a key on current releases) and its uuid through the join. */
const DEVICE_GROUP_FIELDS = 'resource_group,resource_group#uuid as resource_group_uuid';

export class VergeosClient implements VergeosApi {
  readonly #http: VergeosTransport;
  readonly #recipes: RecipesClient;

  constructor(options: VergeosClientOptions) {
    this.#http = new VergeosTransport(options);
    this.#recipes = new RecipesClient(this.#http);
  }

  get origin(): string {
    return this.#http.origin;
  }

  get budget(): RequestBudget | undefined {
    return this.#http.budget;
  }

  /**
   * Creates the VM. Without `response.machine` in the answer, its machine key is read from the VM
   * it was given (`$key`), as VergeOS's clients do; if that read fails too, the outcome is unknown
   * (the VM exists: look it up by name, never POST again).
   */
  async createVm(body: VmCreateBody): Promise<CreatedVm> {
    const created = await this.#post('/vms', body, createdVmSchema);
    const machine = created.response?.machine;
    if (machine !== undefined) return { vmKey: created.$key, machineKey: machine };
    try {
      return { vmKey: created.$key, machineKey: (await this.getVm(created.$key)).machineKey };
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw badResponse('POST /api/v4/vms', `response.machine: missing, and reading VM ${created.$key} failed (${why})`, true);
    }
  }

  async addDrive(body: DriveCreateBody): Promise<Created> {
    const created = await this.#post('/machine_drives', body, createdSchema);
    return { key: created.$key };
  }

  async addNic(body: NicCreateBody): Promise<Created> {
    const created = await this.#post('/machine_nics', body, createdSchema);
    return { key: created.$key };
  }

  /** A vGPU's settings come whole from the plan (its defaults under the recipe's); other devices without any are sent `{}`. */
  async addDevice(body: DeviceCreateBody): Promise<CreatedDevice> {
    const created = await this.#post('/machine_devices', body.type === VGPU_DEVICE_TYPE ? body : { settings_args: {}, ...body }, createdDeviceSchema);
    return { key: created.$key, uuid: created.response?.uuid };
  }

  async vmAction(vmKey: string, action: VmAction): Promise<void> {
    await this.#http.call({ method: 'POST', path: '/vm_actions', body: { vm: numericIfPossible(vmKey), action, params: {} } });
  }

  powerOn(vmKey: string): Promise<void> {
    return this.vmAction(vmKey, 'poweron');
  }

  /** The status row is found by machine key: its own `$key` can differ from it. */
  async machineStatus(machineKey: string): Promise<MachineStatus | undefined> {
    const rows = await this.#list('/machine_status', machineStatusSchema, {
      filter: `machine eq ${numericFilterValue(machineKey)}`,
      fields: '$key,machine,status,running',
    });
    return rows[0];
  }

  /** The live VM of that name, if any; snapshots (which share names) are excluded. */
  async findVmByName(name: string): Promise<Vm | undefined> {
    const rows = await this.#list('/vms', vmSchema, {
      filter: `name eq ${quote(name)} and is_snapshot eq false`,
      fields: VM_FIELDS,
    });
    return rows.find((vm) => vm.name === name);
  }

  /** Live VMs with any of these names, in one call. */
  async findVmsByName(names: string[]): Promise<Vm[]> {
    if (names.length === 0) return [];
    const wanted = new Set(names);
    const rows = await this.#list('/vms', vmSchema, {
      filter: `(${names.map((n) => `name eq ${quote(n)}`).join(' or ')}) and is_snapshot eq false`,
      fields: VM_FIELDS,
    });
    return rows.filter((vm) => wanted.has(vm.name));
  }

  async getVm(vmKey: string): Promise<Vm> {
    const { body } = await this.#http.call({ method: 'GET', path: `/vms/${encodeURIComponent(vmKey)}`, query: { fields: VM_FIELDS } });
    return parseBody(vmSchema, body, `GET /api/v4/vms/${vmKey}`);
  }

  /** Removes the VM with its drives, NICs and devices. A retried DELETE that finds it gone counts as done. */
  async deleteVm(vmKey: string): Promise<void> {
    await this.#http.call({ method: 'DELETE', path: `/vms/${encodeURIComponent(vmKey)}` });
  }

  listDrives(machineKey: string): Promise<Drive[]> {
    return this.#list('/machine_drives', driveSchema, {
      filter: `machine eq ${numericFilterValue(machineKey)}`,
      // The raw `status` column is a key into machine_drive_status; VergeOS's clients read the text through the join.
      fields: '$key,machine,name,media,interface,disksize,media_source,preferred_tier,status#status as status',
    });
  }

  /** A machine's NICs with their addresses: `ipaddress` is undefined until VergeOS knows it (static, or once the guest has one). */
  listNics(machineKey: string): Promise<Nic[]> {
    return this.#list('/machine_nics', nicSchema, {
      filter: `machine eq ${numericFilterValue(machineKey)}`,
      fields: '$key,machine,name,vnet,interface,enabled,ipaddress,macaddress',
    });
  }

  listDevices(machineKey: string): Promise<Device[]> {
    return this.#list('/machine_devices', deviceSchema, {
      filter: `machine eq ${numericFilterValue(machineKey)}`,
      fields: `$key,machine,type,${DEVICE_GROUP_FIELDS},uuid,name`,
    });
  }

  listLiveVms(): Promise<Vm[]> {
    return this.#list('/vms', vmSchema, { filter: 'is_snapshot eq false', fields: '$key,name,machine' });
  }

  async machineStatuses(machineKeys: readonly string[]): Promise<MachineStatus[]> {
    const rows = await Promise.all(
      machineChunks(machineKeys).map((filter) => this.#list('/machine_status', machineStatusSchema, { filter, fields: '$key,machine,status,running' })),
    );
    return rows.flat();
  }

  async listNicsOf(machineKeys: readonly string[]): Promise<Nic[]> {
    const rows = await Promise.all(
      machineChunks(machineKeys).map((filter) =>
        this.#list('/machine_nics', nicSchema, { filter, fields: '$key,machine,name,vnet,interface,enabled,ipaddress,macaddress' }),
      ),
    );
    return rows.flat();
  }

  listClusters(): Promise<Cluster[]> {
    return this.#list('/clusters', clusterSchema, { fields: '$key,name,description,enabled,max_ram_per_vm,max_cores_per_vm', sort: '+name' });
  }

  listVnets(): Promise<Vnet[]> {
    return this.#list('/vnets', vnetSchema, { fields: '$key,name,description,type,enabled', sort: '+name' });
  }

  listMediaFiles(): Promise<MediaFile[]> {
    return this.#list('/files', mediaFileSchema, { fields: '$key,name,description,filesize,type', sort: '+name' });
  }

  listStorageTiers(): Promise<StorageTier[]> {
    return this.#list('/storage_tiers', storageTierSchema, { fields: '$key,tier,description,capacity,used,allocated', sort: '+tier' });
  }

  listResourceGroups(): Promise<ResourceGroup[]> {
    return this.#list('/resource_groups', resourceGroupSchema, {
      fields: '$key,uuid,name,type,class,enabled,count(resources) as resource_count',
      sort: '+name',
    });
  }

  /**
   * Only devices that hold hardware: those of running machines, filtered by VergeOS in one call on
   * the `machine#status#running as running` join (pyVergeOS filters running networks so). A
   * stopped VM holds none, and a snapshot's machine never runs.
   */
  async countDevicesInUse(): Promise<Map<string, number>> {
    const rows = await this.#list('/machine_devices', deviceGroupSchema, {
      filter: 'running eq true',
      fields: `${DEVICE_GROUP_FIELDS},machine#status#running as running`,
    });
    const counts = new Map<string, number>();
    for (const row of rows) {
      const group = row.resource_group_uuid ?? (row.resource_group === null || row.resource_group === undefined ? undefined : String(row.resource_group));
      if (group) counts.set(group, (counts.get(group) ?? 0) + 1);
    }
    return counts;
  }

  listClusterStatus(): Promise<ClusterStatus[]> {
    return this.#list('/cluster_status', clusterStatusSchema, { fields: 'cluster,online_ram,used_ram,online_cores,used_cores' });
  }

  listVgpuDevices(): Promise<VgpuDevice[]> {
    return this.#list('/node_nvidia_vgpu_devices', vgpuDeviceSchema, { fields: '$key,node,name,slot,vendor,device,max_instances' });
  }

  async systemInfo(): Promise<SystemInfo> {
    const { body } = await this.#http.call({ method: 'GET', path: '/system', query: { fields: '$key,yb_version,os_version,cloud_name' } });
    // A dict, or a list with one row, depending on release.
    return parseBody(systemInfoSchema, Array.isArray(body) ? body[0] : body, 'GET /api/v4/system');
  }

  // ---- day-2 changes: a PUT is sent once (the caller looks a lost answer up, never re-sends) ----

  async updateVmSize(vmKey: string, size: { cpu_cores: number; ram: number }): Promise<void> {
    await this.#http.call({ method: 'PUT', path: `/vms/${encodeURIComponent(vmKey)}`, body: { cpu_cores: size.cpu_cores, ram: size.ram }, once: true });
  }

  async growDrive(driveKey: string, disksize: number): Promise<void> {
    await this.#http.call({ method: 'PUT', path: `/machine_drives/${encodeURIComponent(driveKey)}`, body: { disksize }, once: true });
  }

  /** VergeOS ignores a `retention` field: the expiry goes as an absolute `expires` (gov, pyVergeOS 0a65706). */
  async createSnapshot(body: {
    machine: string;
    name: string;
    expiresAt?: Date | undefined;
    quiesce?: boolean | undefined;
    description?: string | undefined;
  }): Promise<Created> {
    const expiry = body.expiresAt === undefined ? { expires_type: 'never' } : { expires: Math.floor(body.expiresAt.getTime() / 1000), expires_type: 'date' };
    const created = await this.#post(
      '/machine_snapshots',
      {
        machine: numericIfPossible(body.machine),
        name: body.name,
        created_manually: true,
        quiesce: body.quiesce ?? false,
        ...expiry,
        ...(body.description === undefined ? {} : { description: body.description }),
      },
      createdSchema,
    );
    return { key: created.$key };
  }

  listSnapshots(machineKey: string): Promise<Snapshot[]> {
    return this.#list('/machine_snapshots', snapshotSchema, {
      filter: `machine eq ${numericFilterValue(machineKey)}`,
      sort: '-created',
      fields: SNAPSHOT_FIELDS,
    });
  }

  async deleteSnapshot(snapshotKey: string): Promise<void> {
    await this.#http.call({ method: 'DELETE', path: `/machine_snapshots/${encodeURIComponent(snapshotKey)}` });
  }

  /** Restore takes the hidden VM's key: gov warns that posting the machine key 404s or restores another VM. */
  async snapshotVmKey(snapMachineKey: string): Promise<string | undefined> {
    const rows = await this.#list('/vms', snapshotVmRowSchema, {
      filter: `machine eq ${numericFilterValue(snapMachineKey)}`,
      fields: '$key,name,machine,is_snapshot',
    });
    return rows.find((row) => row.is_snapshot && row.machine === snapMachineKey)?.$key;
  }

  async restoreSnapshot(snapshotVmKey: string, snapshotKey: string): Promise<void> {
    await this.#http.call({
      method: 'POST',
      path: '/vm_actions',
      body: { vm: numericIfPossible(snapshotVmKey), action: 'restore', params: { snapshot: numericIfPossible(snapshotKey) } },
    });
  }

  /** The clone happened once VergeOS answers 2xx; keys it does not send are left for a lookup by name. */
  async cloneVm(vmKey: string, name: string): Promise<{ vmKey?: string; machineKey?: string }> {
    const { body } = await this.#http.call({
      method: 'POST',
      path: '/vm_actions',
      body: { vm: numericIfPossible(vmKey), action: 'clone', params: { name, preserve_macs: false } },
    });
    const parsed = clonedSchema.safeParse(body);
    if (!parsed.success) return {};
    return {
      ...(parsed.data.vmKey === undefined ? {} : { vmKey: parsed.data.vmKey }),
      ...(parsed.data.machineKey === undefined ? {} : { machineKey: parsed.data.machineKey }),
    };
  }

  // ---- VergeOS's own recipes, on the same transport (recipes-client.ts) ----

  listVmRecipes(options?: ListVmRecipesOptions): Promise<VmRecipe[]> {
    return this.#recipes.listVmRecipes(options);
  }
  recipeSections(recipeKey: string): Promise<RecipeSection[]> {
    return this.#recipes.recipeSections(recipeKey);
  }
  recipeQuestions(recipeKey: string): Promise<RecipeQuestion[]> {
    return this.#recipes.recipeQuestions(recipeKey);
  }
  simulateRecipe(deployment: RecipeDeployment): Promise<SimulationReport> {
    return this.#recipes.simulateRecipe(deployment);
  }
  deployRecipe(deployment: RecipeDeployment): Promise<{ instanceKey: string }> {
    return this.#recipes.deployRecipe(deployment);
  }
  getRecipeInstance(instanceKey: string): Promise<RecipeInstance> {
    return this.#recipes.getRecipeInstance(instanceKey);
  }
  findRecipeInstanceByName(name: string): Promise<RecipeInstance | undefined> {
    return this.#recipes.findRecipeInstanceByName(name);
  }

  lastAnswerAt(): number | undefined {
    return this.#http.lastAnswerAt;
  }

  lastTroubleAt(): number | undefined {
    return this.#http.lastTroubleAt;
  }

  close(): Promise<void> {
    return this.#http.close();
  }

  [inspect.custom](): string {
    return `VergeosClient { origin: '${this.#http.origin}', auth: '***' }`;
  }

  toJSON(): Record<string, unknown> {
    return { origin: this.#http.origin, auth: '***' };
  }

  async #post<S extends z.ZodType>(path: string, body: object, schema: S): Promise<z.output<S>> {
    const result = await this.#http.call({ method: 'POST', path, body });
    return parseBody(schema, result.body, `POST /api/v4${path}`, true);
  }

  async #list<S extends z.ZodType>(path: string, schema: S, query: Record<string, string>): Promise<Array<z.output<S>>> {
    const { body } = await this.#http.call({ method: 'GET', path, query: { limit: 0, ...query } });
    const endpoint = `GET /api/v4${path}`;
    if (body === undefined) return [];
    if (!Array.isArray(body)) throw badResponse(endpoint, 'expected a list', false);
    return body.map((row) => parseBody(schema, row, endpoint));
  }
}
