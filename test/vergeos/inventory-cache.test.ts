/** Inventory lists reused for the TTL and shared while in flight; failures never kept; storage tiers forgotten after the bot's writes. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VergeosSim } from '../../src/sim/index.js';
import type { VergeosClient } from '../../src/vergeos/client.js';
import { InventoryCachingVergeos } from '../../src/vergeos/inventory-cache.js';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { startRig, until } from '../helpers/bot.js';
import { simAndClient } from '../helpers/vergeos.js';

const TTL = 60_000;

describe('InventoryCachingVergeos', () => {
  let sim: VergeosSim;
  let client: VergeosClient;
  let close: () => Promise<void>;
  let clock = 0;
  let api: InventoryCachingVergeos;
  const routes = () => sim.requests.map((r) => r.route);

  beforeEach(async () => {
    ({ sim, client, close } = await simAndClient());
    clock = 1_000_000;
    api = new InventoryCachingVergeos(client, { ttlMs: TTL, now: () => clock });
  });
  afterEach(() => close());

  it('asks VergeOS once per list within the TTL, shares a list in flight, and asks again after the TTL', async () => {
    const [a, b, c] = await Promise.all([api.listClusters(), api.listClusters(), api.listClusters()]);
    expect(a).toEqual(b);
    expect(b).toEqual(c);
    await api.listVnets();
    await api.listMediaFiles();
    await api.listStorageTiers();
    await api.listResourceGroups();
    clock += TTL - 1;
    const again = await api.listClusters();
    await Promise.all([api.listVnets(), api.listMediaFiles(), api.listStorageTiers(), api.listResourceGroups()]);
    expect(again).toEqual(a);
    expect(routes()).toEqual(['GET /clusters', 'GET /vnets', 'GET /files', 'GET /storage_tiers', 'GET /resource_groups']);

    clock += 1;
    await api.listClusters();
    expect(routes().slice(5)).toEqual(['GET /clusters']);
  });

  it('gives each caller its own array: one sorting it does not reorder the next', async () => {
    const first = await api.listClusters();
    const names = first.map((c) => c.name);
    first.reverse();
    expect((await api.listClusters()).map((c) => c.name)).toEqual(names);
  });

  it('never keeps a failure: every caller in flight gets it, the next caller asks again', async () => {
    sim.faults.add({ route: 'GET /vnets', nth: 1, times: 3, status: 500, body: { err: 'down for a moment' } });
    const failed = await Promise.allSettled([api.listVnets(), api.listVnets()]);
    expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    const asked = sim.requestsTo('GET /vnets').length;
    expect(asked).toBe(3); // one call, retried by the transport: not one per caller
    expect((await api.listVnets()).length).toBeGreaterThan(0);
    expect(sim.requestsTo('GET /vnets').length).toBe(asked + 1);
  });

  it('forgets storage tiers (only) after a write through it, whatever its outcome', async () => {
    const vm = await api.createVm({ name: 'tiers-01', cpu_cores: 1, ram: 1024 });
    await api.listStorageTiers();
    await api.listClusters();
    sim.requests.length = 0;

    await api.addDrive({ machine: vm.machineKey, name: 'disk-1', media: 'disk', interface: 'virtio-scsi', disksize: 10 * 2 ** 30 });
    await api.listStorageTiers();
    await api.listClusters();
    expect(routes()).toEqual(['POST /machine_drives', 'GET /storage_tiers']);

    sim.requests.length = 0;
    await expect(api.growDrive('999999', 1)).rejects.toThrow();
    await api.listStorageTiers();
    expect(routes()).toEqual(['PUT /machine_drives/:key', 'GET /storage_tiers']);
  });

  it('does not keep a tier list fetched across a write, and later callers do not join it', async () => {
    sim.faults.add({ route: 'GET /storage_tiers', nth: 1, latencyMs: 150 });
    const slow = api.listStorageTiers();
    await until(() => sim.requestsTo('GET /storage_tiers').length === 1, 'the slow list asked');
    await api.createVm({ name: 'tiers-02', cpu_cores: 1, ram: 1024 });
    const afterWrite = api.listStorageTiers();
    await Promise.all([slow, afterWrite]);
    expect(sim.requestsTo('GET /storage_tiers')).toHaveLength(2);
    await api.listStorageTiers();
    expect(sim.requestsTo('GET /storage_tiers')).toHaveLength(2);
  });

  it('asOfNow reads VergeOS every time and keeps the answer for the cached view; its writes forget tiers too', async () => {
    const now = api.asOfNow();
    const groups = await api.listResourceGroups();
    await now.listResourceGroups();
    await now.listResourceGroups();
    expect(sim.requestsTo('GET /resource_groups')).toHaveLength(3);
    const first = groups[0]!;
    const row = [...sim.state.table('resource_groups').values()].find((g) => g.uuid === first.uuid)!;
    row.name = 'renamed by an admin';
    expect((await now.listResourceGroups()).find((g) => g.uuid === first.uuid)!.name).toBe('renamed by an admin');
    // The cached view has the fresh answer, without a call of its own.
    expect((await api.listResourceGroups()).find((g) => g.uuid === first.uuid)!.name).toBe('renamed by an admin');
    expect(sim.requestsTo('GET /resource_groups')).toHaveLength(4);

    await api.listStorageTiers();
    await now.createVm({ name: 'as-of-now-01', cpu_cores: 1, ram: 1024 });
    await api.listStorageTiers();
    expect(sim.requestsTo('GET /storage_tiers')).toHaveLength(2);
  });

  it('passes everything else straight through, every time', async () => {
    const vm = await api.createVm({ name: 'through-01', cpu_cores: 1, ram: 1024 });
    sim.requests.length = 0;
    await api.machineStatus(vm.machineKey);
    await api.machineStatus(vm.machineKey);
    await api.listClusterStatus();
    await api.listClusterStatus();
    await api.countDevicesInUse();
    expect(routes()).toEqual(['GET /machine_status', 'GET /machine_status', 'GET /cluster_status', 'GET /cluster_status', 'GET /machine_devices']);
    expect(api.lastAnswerAt()).toBe(client.lastAnswerAt());
    expect(api.budget).toBe(client.budget);
    expect(api.asOfNow().budget).toBe(client.budget);
  });
});

describe('the bot shares one inventory cache between the form and pre-flight', () => {
  it('the form’s lists at start and the pre-flight of a filed request cost one list call each', async () => {
    const rig = await startRig();
    try {
      const lists = ['GET /clusters', 'GET /vnets', 'GET /files', 'GET /storage_tiers', 'GET /resource_groups'];
      await until(() => lists.every((route) => rig.vergeos.requestsTo(route).length > 0), 'the form’s lists warmed');
      await rig.driver.command(SLACK_SIM.requester, 'web-server');
      const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'modal');
      await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'shared-lists-01' });
      await until(() => rig.store.getRequest('REQ-1'), 'filed');
      expect(lists.map((route) => [route, rig.vergeos.requestsTo(route).length])).toEqual(lists.map((route) => [route, 1]));
    } finally {
      await rig.close();
    }
  });
});
