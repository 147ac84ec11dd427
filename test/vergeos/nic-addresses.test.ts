/** The client reads each NIC's address: undefined while VergeOS sends '' or null, the address once it knows one. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dhcpAddress, type VergeosSim } from '../../src/sim/index.js';
import type { VergeosClient } from '../../src/vergeos/index.js';
import { nicSchema } from '../../src/vergeos/types.js';
import { simAndClient, vergeosFailure } from '../helpers/vergeos.js';

describe('nicSchema', () => {
  const row = { $key: 2000, machine: 52, name: 'lan', vnet: 3, interface: 'virtio', enabled: true };

  it("reads '', null and a missing address as no address, and trims one it gets", () => {
    for (const ipaddress of ['', '  ', null, undefined]) expect(nicSchema.parse({ ...row, ipaddress, macaddress: ipaddress }).ipaddress).toBeUndefined();
    expect(nicSchema.parse({ ...row, ipaddress: '' }).macaddress).toBeUndefined();
    expect(nicSchema.parse({ ...row, ipaddress: ' 10.3.8.2 ', macaddress: '52:54:00:00:07:d0' })).toEqual({
      key: '2000',
      machineKey: '52',
      name: 'lan',
      vnet: '3',
      interface: 'virtio',
      enabled: true,
      ipaddress: '10.3.8.2',
      macaddress: '52:54:00:00:07:d0',
    });
  });
});

describe('VergeosClient.listNics addresses', () => {
  let sim: VergeosSim;
  let client: VergeosClient;
  let close: () => Promise<void>;
  let now: number;

  beforeEach(async () => {
    now = 0;
    ({ sim, client, close } = await simAndClient({ timing: { startMs: 0, stopMs: 0, addressMs: 500 }, clock: () => now }));
  });
  afterEach(() => close());

  it('asks for ipaddress and macaddress, and reports the address once the simulator knows it; a static one at once', async () => {
    const { vmKey, machineKey } = await client.createVm({ name: 'reach-me' });
    const lan = await client.addNic({ machine: machineKey, vnet: '3', name: 'lan' });
    await client.addNic({ machine: machineKey, vnet: '4', name: 'fixed', ipaddress: '192.168.4.20' });
    expect(sim.requestsTo('POST /machine_nics').map((r) => (r.body as { ipaddress?: string }).ipaddress)).toEqual([undefined, '192.168.4.20']);
    await client.powerOn(vmKey);
    const read = async () => (await client.listNics(machineKey)).map((n) => [n.name, n.ipaddress]);
    expect(await read()).toEqual([
      ['lan', undefined],
      ['fixed', '192.168.4.20'],
    ]);
    expect(sim.requestsTo('GET /machine_nics').at(-1)?.query.fields).toBe('$key,machine,name,vnet,interface,enabled,ipaddress,macaddress');
    now += 500;
    expect(await read()).toEqual([
      ['lan', dhcpAddress(3, Number(lan.key))],
      ['fixed', '192.168.4.20'],
    ]);
  });

  it('retries a failed read of the NICs (a GET is safe to ask again) and reports one that keeps failing', async () => {
    const { machineKey } = await client.createVm({ name: 'flaky' });
    await client.addNic({ machine: machineKey, vnet: '3', name: 'lan' });
    sim.faults.add({ route: 'GET /machine_nics', nth: 1, status: 503 });
    expect((await client.listNics(machineKey)).map((n) => n.name)).toEqual(['lan']);
    expect(sim.requestsTo('GET /machine_nics').map((r) => r.outcome)).toEqual([503, 200]);
    sim.faults.add({ route: 'GET /machine_nics', status: 503 });
    const failure = await vergeosFailure(client.listNics(machineKey));
    expect([failure.code, failure.endpoint]).toEqual(['VERGEOS_UNAVAILABLE', 'GET /api/v4/machine_nics']);
  });
});
