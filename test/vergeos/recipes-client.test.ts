/**
 * The client's calls for VergeOS's own recipes against the real simulator: the query each sends
 * (downloaded only, by catalog name), sections and questions parsed for every stored type, a
 * deploy sent once that builds one VM of the answered size, instances by key and name, a lost
 * answer left for a lookup (one instance), a 2xx to a simulation reported as created, and no
 * password in any error, log line or metric. A simulation's 405 report itself is read in
 * recipe-simulation.test.ts; here, a 405 that is not "Simulation complete" is a refusal.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VergeosClient } from '../../src/vergeos/index.js';
import { RecipeSimulationCreatedError } from '../../src/vergeos/recipes-client.js';
import { isAskedQuestion } from '../../src/vergeos/recipe-types.js';
import { InventoryCachingVergeos } from '../../src/vergeos/inventory-cache.js';
import { GIB, LAB_CATALOG_KEY, UBUNTU_RECIPE_KEY, WINDOWS_RECIPE_KEY, type VergeosSim } from '../../src/sim/index.js';
import { registry } from '../../src/ops/metrics.js';
import { simAndClient, vergeosFailure } from '../helpers/vergeos.js';
import { captureLogger } from '../helpers/logs.js';

const PASSWORD = 'Correct-Horse-Battery-9';
const answers = (extra: Record<string, unknown> = {}) => ({ YB_HOSTNAME: 'web-01', YB_PASSWORD: PASSWORD, ...extra });

describe('VergeosClient: VergeOS recipes', () => {
  let sim: VergeosSim;
  let client: VergeosClient;
  let close: () => Promise<void>;
  const liveVmNames = async () => (await client.listLiveVms()).map((vm) => vm.name).sort();

  beforeEach(async () => {
    ({ sim, client, close } = await simAndClient());
  });
  afterEach(() => close());

  it('lists downloaded recipes by name with catalog and instance count, and only those of named catalogs when asked', async () => {
    const recipes = await client.listVmRecipes();
    expect(recipes.map((r) => [r.name, r.catalog, r.version, r.downloaded])).toEqual([
      ['Debian 12 Minimal', 'Lab Catalog', '0.9', true],
      ['Ubuntu Server 24.04', 'Local Catalog', '1.4', true],
      ['Windows Server 2022', 'Local Catalog', '2.0', true],
    ]);
    expect(recipes[1]).toMatchObject({ key: UBUNTU_RECIPE_KEY, build: '7', instanceCount: 0 });
    expect(sim.requestsTo('GET /vm_recipes')[0]?.query).toMatchObject({ filter: 'downloaded eq 1', sort: '+name' });

    expect((await client.listVmRecipes({ downloadedOnly: false })).map((r) => r.name)).toContain('Rocky Linux 9');
    expect((await client.listVmRecipes({ catalogs: ['Lab Catalog'] })).map((r) => r.name)).toEqual(['Debian 12 Minimal']);
    expect(sim.requestsTo('GET /catalogs')[0]?.query.filter).toBe("name eq 'Lab Catalog'");
    expect(sim.requestsTo('GET /vm_recipes')[2]?.query.filter).toBe(`downloaded eq 1 and (catalog eq '${LAB_CATALOG_KEY}')`);
    expect((await client.listVmRecipes({ catalogs: ['Marketplace'] })).map((r) => r.name)).toEqual([]);
    expect(await client.listVmRecipes({ catalogs: ['No Such Catalog'] })).toEqual([]);
  });

  it('reads sections and every question in order, each stored type (aliases read as stored names), bounds, lists and plumbing', async () => {
    const sections = await client.recipeSections(UBUNTU_RECIPE_KEY);
    expect(sections.map((s) => [s.name, s.order])).toEqual([
      ['Virtual Machine', 0],
      ['Network', 1],
      ['Login', 2],
      ['$database', 3],
    ]);
    const ubuntu = await client.recipeQuestions(UBUNTU_RECIPE_KEY);
    const windows = await client.recipeQuestions(WINDOWS_RECIPE_KEY);
    expect(sim.requestsTo('GET /recipe_questions')[0]?.query.filter).toBe(`recipe eq 'vm_recipes/${UBUNTU_RECIPE_KEY}'`);
    const types = new Set([...ubuntu, ...windows].map((q) => q.type));
    for (const type of ['bool', 'num', 'ram', 'disksize', 'seconds', 'string', 'hostname', 'textarea', 'password', 'network', 'list', 'row', 'cluster'])
      expect(types).toContain(type);
    const q = (list: typeof ubuntu, name: string) => list.find((x) => x.name === name)!;
    expect(q(ubuntu, 'YB_RAM')).toMatchObject({ label: 'RAM', section: 'Virtual Machine', min: 1024, max: 262_144, default: 4096, required: true });
    expect(q(ubuntu, 'YB_DRIVE_OS_SIZE')).toMatchObject({ type: 'disksize', min: 0, max: undefined, help: '0 keeps the image size' });
    expect(q(ubuntu, 'YB_IP_ADDR_TYPE').choices).toEqual({ dhcp: 'DHCP', static: 'Static' });
    expect(q(ubuntu, 'YB_IP_ADDR')).toMatchObject({ min: undefined, max: 15 });
    expect(q(ubuntu, 'YB_PASSWORD')).toMatchObject({ type: 'password', dontStore: true, min: 8, max: undefined });
    expect(q(ubuntu, 'YB_HOSTNAME').regex).toBe('[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?');
    expect(ubuntu.filter((x) => !isAskedQuestion(x)).map((x) => [x.name, x.type])).toEqual([
      ['OS_DL_URL', 'hidden'],
      ['DB_VM_ROW', 'database_create'],
    ]);
    expect(ubuntu.map((x) => x.order)).toEqual([...ubuntu.map((x) => x.order)].sort((a, b) => a - b));
    expect(q(windows, 'YB_CPU_CORES')).toMatchObject({ type: 'num', default: '4', min: 2, max: 64 });
    expect(q(windows, 'YB_DRIVE_OS_SIZE')).toMatchObject({ type: 'disksize', min: 64 * GIB });
    expect(q(windows, 'YB_INSTALL_MEDIA')).toMatchObject({ type: 'row', table: 'files', tableFields: 'name', tableFilter: "type eq 'iso'", hideNone: true });
    expect(q(windows, 'YB_TIMEZONE').choices).toEqual({ UTC: 'UTC', 'Eastern Standard Time': 'US Eastern' });
  });

  it('deploys once: one POST without simulate, one instance and one VM with the answered cores, RAM (MB) and disk (bytes); found by key and name', async () => {
    const before = await liveVmNames();
    const { instanceKey } = await client.deployRecipe({
      recipe: UBUNTU_RECIPE_KEY,
      name: 'web-01',
      answers: answers({ YB_CPU_CORES: 4, YB_RAM: 8192, YB_DRIVE_OS_SIZE: 40 * GIB }),
    });
    const posts = sim.requestsTo('POST /vm_recipe_instances');
    expect(posts.map((r) => r.body)).toEqual([
      { recipe: UBUNTU_RECIPE_KEY, name: 'web-01', answers: answers({ YB_CPU_CORES: 4, YB_RAM: 8192, YB_DRIVE_OS_SIZE: 40 * GIB }), auto_update: false },
    ]);
    expect(instanceKey).toBe('1');
    const instance = await client.getRecipeInstance(instanceKey);
    expect(instance).toMatchObject({ key: '1', recipeKey: UBUNTU_RECIPE_KEY, recipe: 'Ubuntu Server 24.04', vmName: 'web-01', name: 'web-01', version: '1.4' });
    expect(instance).not.toHaveProperty('answers');
    expect(await liveVmNames()).toEqual([...before, 'web-01'].sort());
    const vm = await client.getVm(instance.vmKey!);
    expect(vm).toMatchObject({ name: 'web-01', cpuCores: 4, ram: 8192 });
    expect((await client.listDrives(vm.machineKey)).map((d) => d.disksize)).toEqual([40 * GIB]);
    expect((await client.listNics(vm.machineKey)).map((n) => n.vnet)).toEqual(['4']);
    expect(await client.findRecipeInstanceByName('web-01')).toEqual(instance);
    expect(await client.findRecipeInstanceByName('web-02')).toBeUndefined();
    expect((await client.listVmRecipes()).find((r) => r.key === UBUNTU_RECIPE_KEY)?.instanceCount).toBe(1);
  });

  it('a lost answer to the deploy is an unknown outcome, not re-sent: exactly one instance is found by name afterwards', async () => {
    sim.faults.add({ route: 'POST /vm_recipe_instances', nth: 1, drop: true, commit: true });
    const err = await vergeosFailure(client.deployRecipe({ recipe: UBUNTU_RECIPE_KEY, name: 'web-lost', answers: answers({ YB_HOSTNAME: 'web-lost' }) }));
    expect(err).toMatchObject({ code: 'VERGEOS_UNAVAILABLE', outcomeUnknown: true, retrySafe: false, endpoint: 'POST /api/v4/vm_recipe_instances' });
    expect(sim.requestsTo('POST /vm_recipe_instances')).toHaveLength(1);
    const found = await client.findRecipeInstanceByName('web-lost');
    expect(found).toMatchObject({ key: '1', vmName: 'web-lost' });
    expect(sim.state.table('vm_recipe_instances').size).toBe(1);
    expect((await client.listLiveVms()).filter((vm) => vm.name === 'web-lost')).toHaveLength(1);
  });

  it('a refused deploy says what VergeOS said, with no password in the error, its JSON, the logs or the metrics', async () => {
    const { logger, lines } = captureLogger('debug');
    await close();
    ({ sim, client, close } = await simAndClient({}, { logger }));
    // A VergeOS that echoes the refused value (the simulator does not, a release may).
    sim.faults.add({ route: 'POST /vm_recipe_instances', nth: 1, status: 422, body: { err: `Error executing recipe: bad password '${PASSWORD}'` } });
    const err = await vergeosFailure(client.deployRecipe({ recipe: UBUNTU_RECIPE_KEY, name: 'web-01', answers: answers() }));
    expect(err).toMatchObject({ code: 'VERGEOS_VALIDATION', status: 422, vergeosMessage: "Error executing recipe: bad password '***'" });
    const taken = await vergeosFailure(client.deployRecipe({ recipe: UBUNTU_RECIPE_KEY, name: 'legacy-db', answers: answers() }));
    expect(taken).toMatchObject({ code: 'VERGEOS_NAME_TAKEN', status: 409, vergeosMessage: "The name 'legacy-db' is already in use" });
    for (const e of [err, taken]) {
      expect(e.message).not.toContain(PASSWORD);
      expect(JSON.stringify(e)).not.toContain(PASSWORD);
    }
    expect(await registry.metrics()).not.toContain(PASSWORD);
    expect(lines.filter((l) => l.includes('vm_recipe_instances'))).toHaveLength(2);
    expect(lines.join('\n')).not.toContain(PASSWORD);
    expect(await liveVmNames()).not.toContain('web-01');
  });

  it('a 2xx answer to a simulation is reported as created, with the instance key VergeOS gave', async () => {
    sim.faults.add({ route: 'POST /vm_recipe_instances', nth: 1, status: 201, body: { $key: 17, location: '/v4/vm_recipe_instances/17' } });
    const err = await client.simulateRecipe({ recipe: UBUNTU_RECIPE_KEY, name: 'web-01', answers: answers() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecipeSimulationCreatedError);
    expect(err).toMatchObject({ code: 'VERGEOS_SIMULATION_CREATED', status: 201, instanceKey: '17', vmName: 'web-01' });
    expect((err as Error).message).not.toContain(PASSWORD);
    expect(sim.requestsTo('POST /vm_recipe_instances').map((r) => (r.body as { simulate?: boolean }).simulate)).toEqual([true]);
  });

  it('the inventory cache passes the recipe calls through, and a deploy makes the storage tiers read afresh', async () => {
    const cached = new InventoryCachingVergeos(client, { ttlMs: 60_000 });
    await cached.listStorageTiers();
    expect((await cached.listVmRecipes({ catalogs: ['Local Catalog'] })).map((r) => r.name)).toEqual(['Ubuntu Server 24.04', 'Windows Server 2022']);
    expect((await cached.recipeSections(WINDOWS_RECIPE_KEY)).map((s) => s.name)).toEqual(['Virtual Machine', 'Windows']);
    expect(await cached.recipeQuestions(WINDOWS_RECIPE_KEY)).toHaveLength(10);
    const { instanceKey } = await cached.deployRecipe({ recipe: UBUNTU_RECIPE_KEY, name: 'web-03', answers: answers({ YB_HOSTNAME: 'web-03' }) });
    expect((await cached.getRecipeInstance(instanceKey)).vmName).toBe('web-03');
    expect((await cached.findRecipeInstanceByName('web-03'))?.key).toBe(instanceKey);
    await cached.listStorageTiers();
    expect(sim.requestsTo('GET /storage_tiers')).toHaveLength(2);
  });

  it('a 405 that is not "Simulation complete" is VergeOS refusing the request, not a report', async () => {
    sim.faults.add({ route: 'POST /vm_recipe_instances', nth: 1, status: 405, body: { err: 'Method not allowed' } });
    const err = await vergeosFailure(client.simulateRecipe({ recipe: UBUNTU_RECIPE_KEY, name: 'web-01', answers: answers() }));
    expect(err).toMatchObject({ code: 'VERGEOS_VALIDATION', status: 405, vergeosMessage: 'Method not allowed', retrySafe: false });
  });
});
