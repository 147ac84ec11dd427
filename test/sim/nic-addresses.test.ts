/**
 * NIC addresses in the simulator, as VergeOS reports them: a static one always; otherwise '' until
 * the guest has been running `addressMs`, and '' again once the VM is off. Time is the test's clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { dhcpAddress, SIM_DEFAULT_API_KEY, startVergeosSim, VergeosSim } from '../../src/sim/index.js';

const AUTH = { authorization: `Bearer ${SIM_DEFAULT_API_KEY}` };

async function call(sim: VergeosSim, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await request(`${sim.url}${path}`, { method, headers: AUTH, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
}

describe('NIC addresses in the simulator', () => {
  let sim: VergeosSim;
  let now: number;
  let vmKey: number;
  let machine: string;

  /** Each NIC of the machine as `name → ipaddress`, read as a client does (with `fields`). */
  const addresses = async (): Promise<Record<string, string>> => {
    const { status, json } = await call(
      sim,
      'GET',
      `/api/v4/machine_nics?filter=${encodeURIComponent(`machine eq ${machine}`)}&fields=$key,name,ipaddress,macaddress`,
    );
    expect(status).toBe(200);
    return Object.fromEntries((json as Array<{ name: string; ipaddress: string }>).map((n) => [n.name, n.ipaddress]));
  };
  const power = async (action: string) => expect((await call(sim, 'POST', '/api/v4/vm_actions', { vm: vmKey, action, params: {} })).status).toBe(201);

  beforeEach(async () => {
    now = Date.parse('2026-01-05T09:00:00Z');
    sim = await startVergeosSim({ timing: { importMs: 100, startMs: 60, stopMs: 60, addressMs: 1_000 }, clock: () => now });
    const created = await call(sim, 'POST', '/api/v4/vms', { name: 'reach-me' });
    vmKey = Number(created.json.$key);
    machine = created.json.response.machine;
  });
  afterEach(() => sim.close());

  it('waits 3 s after power-on by default', () => {
    expect(new VergeosSim().state.timing.addressMs).toBe(3_000);
  });

  it('gives a NIC without a static address one addressMs after the VM is running, derived from its vnet and key', async () => {
    const nic = await call(sim, 'POST', '/api/v4/machine_nics', { machine, vnet: 3, name: 'lan' });
    expect(await addresses()).toEqual({ lan: '' });
    await power('poweron');
    now += 60 + 1_000 - 1; // running after 60 ms, then 1 ms short of the address
    expect(await addresses()).toEqual({ lan: '' });
    now += 1;
    expect(await addresses()).toEqual({ lan: dhcpAddress(3, Number(nic.json.$key)) });
    // NIC keys start at 2000: 10.<vnet>.<key / 250>.<key % 250 + 2>.
    expect(dhcpAddress(3, 2000)).toBe('10.3.8.2');
    expect(dhcpAddress(260, 2249)).toBe('10.4.8.251');
    // A read without `fields` shows it too, with the MAC and no hidden columns.
    const row = (await call(sim, 'GET', `/api/v4/machine_nics/${nic.json.$key}`)).json as Record<string, unknown>;
    expect(row).toMatchObject({ ipaddress: '10.3.8.2', macaddress: '52:54:00:00:07:d0' });
    expect(Object.keys(row).filter((k) => k.startsWith('_'))).toEqual([]);
  });

  it('keeps a static address whatever the power state, and loses the other when the VM powers off', async () => {
    await call(sim, 'POST', '/api/v4/machine_nics', { machine, vnet: 3, name: 'lan' });
    await call(sim, 'POST', '/api/v4/machine_nics', { machine, vnet: 4, name: 'fixed', ipaddress: '192.168.4.20' });
    expect(await addresses()).toEqual({ lan: '', fixed: '192.168.4.20' });
    await power('poweron');
    now += 1_060;
    expect(await addresses()).toEqual({ lan: '10.3.8.2', fixed: '192.168.4.20' });
    await power('poweroff');
    now += 59; // still shutting down: the guest still has it
    expect(await addresses()).toEqual({ lan: '10.3.8.2', fixed: '192.168.4.20' });
    now += 1;
    expect(await addresses()).toEqual({ lan: '', fixed: '192.168.4.20' });
    // Powered on again, the wait starts again.
    await power('poweron');
    now += 1_059;
    expect(await addresses()).toEqual({ lan: '', fixed: '192.168.4.20' });
    now += 1;
    expect(await addresses()).toEqual({ lan: '10.3.8.2', fixed: '192.168.4.20' });
    await power('kill');
    expect(await addresses()).toEqual({ lan: '', fixed: '192.168.4.20' });
  });

  it('refuses a static address that is not one, creating nothing', async () => {
    expect(await call(sim, 'POST', '/api/v4/machine_nics', { machine, vnet: 3, ipaddress: '10.0.0.300' })).toEqual({
      status: 400,
      json: { err: "Invalid value for 'ipaddress': 10.0.0.300" },
    });
    expect(await addresses()).toEqual({});
  });

  it('lets GET /machine_nics be faulted like any route', async () => {
    await call(sim, 'POST', '/api/v4/machine_nics', { machine, vnet: 3, name: 'lan' });
    sim.faults.add({ route: 'GET /machine_nics', nth: 1, status: 503 });
    expect((await call(sim, 'GET', '/api/v4/machine_nics')).status).toBe(503);
    expect(await addresses()).toEqual({ lan: '' });
    sim.faults.add({ route: 'GET /machine_nics/:key', drop: true });
    await expect(call(sim, 'GET', '/api/v4/machine_nics/2000')).rejects.toThrow();
    expect(sim.requestsTo('GET /machine_nics').map((r) => r.outcome)).toEqual([503, 200]);
    expect(sim.requestsTo('GET /machine_nics/:key').map((r) => r.outcome)).toEqual(['dropped']);
  });
});

describe('NIC addresses with no wait (addressMs: 0)', () => {
  it('are there as soon as the VM is running', async () => {
    const sim = await startVergeosSim({ timing: { startMs: 0, stopMs: 0, addressMs: 0 }, clock: () => 0 });
    try {
      const created = await call(sim, 'POST', '/api/v4/vms', { name: 'quick' });
      const nic = await call(sim, 'POST', '/api/v4/machine_nics', { machine: created.json.response.machine, vnet: 4 });
      await call(sim, 'POST', '/api/v4/vm_actions', { vm: Number(created.json.$key), action: 'poweron' });
      expect((await call(sim, 'GET', `/api/v4/machine_nics/${nic.json.$key}?fields=ipaddress`)).json).toEqual({
        ipaddress: dhcpAddress(4, Number(nic.json.$key)),
      });
    } finally {
      await sim.close();
    }
  });
});
