/**
 * Reaching a new VM: its NICs' addresses asked of VergeOS with back-off for a few minutes after it
 * is ready (each ask counted on the VM record, so a restart continues the back-off), told once
 * when they appear, and read on demand after. Clocks are set, never slept on: the simulator's
 * (when an address appears) and the bot's (when it asks) both run on the wall clock until the VM
 * is ready, then stand at the moment the test sets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { vmIdOf, type VmRecord } from '../../src/store/records.js';
import { ADDRESS_WINDOW_MS, nextAskAt, VmAddresses } from '../../src/workflows/vm-addresses.js';
import { provisioningRig, recipeSpec, type ProvisioningRig } from '../helpers/core.js';

describe('the addresses of a new VM', () => {
  let rig: ProvisioningRig;
  let frozen: number | undefined;
  const now = () => frozen ?? Date.now();
  afterEach(() => rig.close());

  const make = async (addressMs: number): Promise<VmRecord> => {
    frozen = undefined;
    rig = await provisioningRig({ clock: now, timing: { importMs: 60, startMs: 0, stopMs: 0, addressMs } });
    const run = await rig.provisioner.createRun(await recipeSpec('web-server', 'reach-01'), { actor: 'U0ALICE' });
    expect((await rig.provisioner.execute(run.id)).state).toBe('succeeded');
    return rig.store.getVm(vmIdOf(run.id))!;
  };
  const asks = () => rig.sim.requestsTo('GET /machine_nics').length;
  /** A new one is a restarted bot's. */
  const addresses = () => new VmAddresses({ store: rig.store, vergeos: rig.client, now });
  /** Both clocks at `ms` after the VM was ready. */
  const at = (vm: VmRecord, ms: number) => void (frozen = Date.parse(vm.readyAt!) + ms);

  it('asks 5 s after ready, then twice as long after each answer, stops after 5 minutes, and tells nothing while there is nothing to tell', async () => {
    const vm = await make(60 * 60_000); // VergeOS learns the address only after an hour
    const sweeper = addresses();
    const before = asks();
    const times: number[] = [];
    for (let ms = 0; ms <= ADDRESS_WINDOW_MS + 60_000; ms += 1_000) {
      at(vm, ms);
      const n = asks();
      expect(await sweeper.sweep()).toEqual([]);
      if (asks() > n) times.push(ms / 1000);
    }
    // 5 s after ready, then 10, 20, 40 s apart, then a minute apart until 5 minutes after ready.
    expect(times).toEqual([5, 15, 35, 75, 135, 195, 255]);
    expect(asks() - before).toBe(7);
    const kept = rig.store.getVm(vm.id)!;
    expect(kept.network).toMatchObject({ polls: 7, nics: [{ name: expect.any(String) }] });
    expect(kept.network!.nics[0]).not.toHaveProperty('ipaddress');
    expect(nextAskAt(kept)).toBeUndefined();
  });

  it('tells the address once when VergeOS reports it, then stops asking; a restarted bot continues the back-off where it was', async () => {
    const vm = await make(30_000); // the address 30 s after power-on
    at(vm, 5_000);
    expect(await addresses().sweep()).toEqual([]);
    at(vm, 15_000);
    // A restart: a new VmAddresses reads the asks so far from the record.
    expect(await addresses().sweep()).toEqual([]);
    expect(rig.store.getVm(vm.id)!.network!.polls).toBe(2);
    at(vm, 34_000);
    expect(await addresses().sweep()).toEqual([]); // next ask at 35 s
    at(vm, 35_000);
    const told = await addresses().sweep();
    expect(told.map((v) => v.network!.nics.map((n) => n.ipaddress))).toEqual([[expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/)]]);
    expect(rig.store.getVm(vm.id)!.network).toEqual(told[0]!.network);
    const n = asks();
    at(vm, 200_000);
    expect(await addresses().sweep()).toEqual([]);
    expect(asks()).toBe(n);
  });

  it('asks for every VM due at a sweep in one call, and only for those due (each keeps its own back-off)', async () => {
    const first = await make(60 * 60_000);
    const more: VmRecord[] = [];
    for (const name of ['reach-02', 'reach-03']) {
      const run = await rig.provisioner.createRun(await recipeSpec('web-server', name), { actor: 'U0ALICE' });
      expect((await rig.provisioner.execute(run.id)).state).toBe('succeeded');
      more.push(rig.store.getVm(vmIdOf(run.id))!);
    }
    const [second, third] = more as [VmRecord, VmRecord];
    const machinesAsked = () => [...(rig.sim.requestsTo('GET /machine_nics').at(-1)?.query.filter ?? '').matchAll(/machine eq (\d+)/g)].map((m) => m[1]).sort();
    const sweeper = addresses();
    const latest = Math.max(...[first, second, third].map((v) => Date.parse(v.readyAt!)));
    frozen = latest + 5_000;
    const n = asks();
    await sweeper.sweep();
    expect(asks() - n).toBe(1);
    expect(machinesAsked()).toEqual([first, second, third].map((v) => v.keys.machineKey!).sort());
    // The second read on demand meanwhile: its next ask comes later than the others'.
    frozen = latest + 6_000;
    await sweeper.read(rig.store.getVm(second.id)!);
    frozen = latest + 15_000;
    await sweeper.sweep();
    expect(asks() - n).toBe(3);
    expect(machinesAsked()).toEqual([first, third].map((v) => v.keys.machineKey!).sort());
    expect([first, second, third].map((v) => rig.store.getVm(v.id)!.network!.polls)).toEqual([2, 2, 2]);
  });

  it('read on demand: kept on the record; VergeOS not answering leaves what was known', async () => {
    const vm = await make(0);
    const read = await addresses().read(vm);
    expect(read.changed).toBe(true);
    expect(read.vm.network!.nics[0]!.ipaddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const again = await addresses().read(read.vm);
    expect(again.changed).toBe(false);
    expect(again.vm.network).toMatchObject({ nics: read.vm.network!.nics, polls: 2 });
    rig.sim.faults.add({ route: 'GET /machine_nics', times: 10, status: 503, body: { err: 'busy' } });
    await expect(addresses().read(again.vm)).rejects.toMatchObject({ code: expect.stringMatching(/^VERGEOS_/) });
    expect(rig.store.getVm(vm.id)!.network).toEqual(again.vm.network);
  });
});
