/**
 * Changing a VM the bot made, exactly once: each change saved in_flight before its one VergeOS
 * call; a lost answer looked up, never re-sent blind (one VergeOS turned away — a 429, a dropped
 * connection — and not done is sent again, at most 3 sends); a second ask with the same id acts once; a change
 * a stopped process left is finished (looked up first) by the next; a refusal is recorded with
 * VergeOS's words; the VM record keeps its configuration now.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChangeFailure } from '../../src/provision/provisioner.js';
import { vmIdOf, type RunRecord } from '../../src/store/records.js';
import type { VmChange } from '../../src/vmchange/schema.js';
import { provisioningRig, recipeSpec, type ProvisioningRig } from '../helpers/core.js';
import { readAudit } from '../helpers/audit.js';

const GIB = 1024 ** 3;

describe('VM changes', () => {
  let rig: ProvisioningRig;
  let run: RunRecord;
  beforeEach(async () => {
    rig = await provisioningRig();
    run = await rig.provisioner.execute((await rig.provisioner.createRun(await recipeSpec('web-server', 'chg-01'), { actor: 'U0ALICE' })).id);
    expect(run.state).toBe('succeeded');
    rig.sim.requests.length = 0;
  });
  afterEach(() => rig.close());

  const vm = () => rig.store.getVm(vmIdOf(run.id))!;
  const calls = (route: string) => rig.sim.requestsTo(route);
  const change = (id: string, c: VmChange) => rig.provisioner.change(run.id, { id, change: c, actor: 'U0ALICE' });
  const resize = (cores: number, ramMb: number, restart = false): VmChange => ({ action: 'resize', cpu_cores: cores, ram: ramMb, restart });
  const audit = async () => (await readAudit(rig.dir)).filter((e) => e.action.startsWith('vm.') && e.action !== 'vm.power_on');

  it('a resize of a running VM: one PUT with cores and RAM in MB, the record holds the new size and that a restart is needed; asked again, nothing is sent', async () => {
    const before = vm().spec.vm;
    const done = await change('c1', resize(5, 10240));
    expect(calls('PUT /vms/:key').map((r) => [r.path, r.body])).toEqual([[`/api/v4/vms/${run.keys.vmKey}`, { cpu_cores: 5, ram: 10240 }]]);
    expect(done).toMatchObject({ already: false, entry: { id: 'c1', status: 'done', attempts: 1, actor: 'U0ALICE' } });
    expect(vm()).toMatchObject({ needRestart: true, spec: { vm: { cpu_cores: 5, ram: 10240 } } });
    expect(rig.store.getRun(run.id)!.spec.vm).toMatchObject({ cpu_cores: before.cpu_cores, ram: before.ram });
    const again = await change('c1', resize(5, 10240));
    expect(again.already).toBe(true);
    expect(calls('PUT /vms/:key')).toHaveLength(1);
    expect((await audit()).map((e) => [e.action, e.outcome, e.detail])).toEqual([
      ['vm.resize', 'ok', 'resize: 5 vCPU, 10 GiB RAM; takes effect at the next power cycle'],
    ]);
  });

  it('a power cycle by hand (off, then on) ends the wait: the record no longer says a restart is needed', async () => {
    await change('c1', resize(5, 10240));
    expect(vm().needRestart).toBe(true);
    await rig.provisioner.power(run.id, 'off', 'U0ALICE');
    expect(vm().needRestart).toBe(true);
    await rig.provisioner.power(run.id, 'on', 'U0ALICE');
    expect(vm().needRestart).toBeUndefined();
    expect((await rig.client.getVm(run.keys.vmKey!)).needRestart).toBe(false);
  });

  it('with the owner’s consent it is power-cycled: off, then on, and no restart is needed after', async () => {
    await change('c1', resize(2, 4096, true));
    const actions = calls('POST /vm_actions').map((r) => (r.body as { action: string }).action);
    expect(actions).toEqual(['poweroff', 'poweron']);
    expect(vm().needRestart).toBeUndefined();
    expect(vm().spec.vm).toMatchObject({ cpu_cores: 2, ram: 4096 });
  });

  it('a power cycle that fails after the PUT took: the resize is done, a restart still needed, and the reason kept', async () => {
    rig.sim.faults.add({ route: 'POST /vm_actions', status: 500, body: { err: 'node is busy' } });
    const done = await change('c1', resize(2, 4096, true));
    expect(done.entry).toMatchObject({
      status: 'done',
      note: expect.stringMatching(/^the power cycle failed \(.*node is busy.*\); the new size waits for the next one$/),
    });
    expect(vm()).toMatchObject({ needRestart: true, spec: { vm: { cpu_cores: 2, ram: 4096 } } });
  });

  it('a lost answer to the PUT is looked up by re-reading the VM: one PUT on the wire, the change done and marked found', async () => {
    rig.sim.faults.add({ route: 'PUT /vms/:key', drop: true, commit: true, nth: 1 });
    const done = await change('c1', resize(3, 6144));
    expect(calls('PUT /vms/:key')).toHaveLength(1);
    expect(done.entry).toMatchObject({ status: 'done', reconciled: true });
    expect(vm().spec.vm).toMatchObject({ cpu_cores: 3, ram: 6144 });
  });

  it('a lost answer to a new drive is found by machine and name: one POST, its key recorded, the drive in the configuration', async () => {
    rig.sim.faults.add({ route: 'POST /machine_drives', drop: true, commit: true, nth: 1 });
    const drive = { name: 'data', media: 'disk' as const, interface: 'virtio-scsi' as const, disksize: 50 * GIB, preferred_tier: '1' as const };
    const done = await change('d1', { action: 'disk_add', drive });
    expect(calls('POST /machine_drives').map((r) => r.body)).toEqual([
      { machine: run.keys.machineKey, name: 'data', media: 'disk', interface: 'virtio-scsi', disksize: 50 * GIB, preferred_tier: '1' },
    ]);
    const made = [...rig.sim.state.table('machine_drives').values()].find((d) => d.name === 'data')!;
    expect(done.entry).toMatchObject({ status: 'done', reconciled: true, key: String(made.$key) });
    expect(vm().spec.drives.at(-1)).toEqual(drive);
  });

  it('a lost answer to a NIC and a snapshot: each found by name, one POST each; a snapshot delete whose answer is lost ends done', async () => {
    for (const route of ['POST /machine_nics', 'POST /machine_snapshots', 'DELETE /machine_snapshots/:key'])
      rig.sim.faults.add({ route, drop: true, commit: true, nth: 1 });
    const nic = await change('n1', { action: 'nic_add', nic: { name: 'backend', vnet: '3', interface: 'virtio', enabled: true } });
    const snap = await change('s1', { action: 'snapshot_create', name: 'before-upgrade', expires: '2030-01-01T00:00:00.000Z', quiesce: false });
    const gone = await change('s2', { action: 'snapshot_delete', snapshot: 'before-upgrade', snapshotKey: snap.entry.key! });
    for (const [route, n] of [
      ['POST /machine_nics', 1],
      ['POST /machine_snapshots', 1],
    ] as const)
      expect(calls(route), route).toHaveLength(n);
    // A DELETE is safe to repeat (the transport retries it; gone is done), so it is not looked up first.
    expect(calls('DELETE /machine_snapshots/:key').length).toBeGreaterThanOrEqual(1);
    expect([nic.entry.reconciled, snap.entry.reconciled, gone.entry.status]).toEqual([true, true, 'done']);
    expect(calls('POST /machine_snapshots')[0]!.body).toMatchObject({
      name: 'before-upgrade',
      expires: Date.parse('2030-01-01T00:00:00Z') / 1000,
      expires_type: 'date',
    });
    expect(vm().spec.nics.map((n) => n.name)).toContain('backend');
    expect(await rig.client.listSnapshots(run.keys.machineKey!)).toEqual([]);
  });

  it('a NIC VergeOS turned away with a 429 (not made): looked up, sent again once, one NIC, 2 attempts on the ledger', async () => {
    rig.sim.faults.add({ route: 'POST /machine_nics', nth: 1, status: 429, retryAfter: 1 });
    const nic = { name: 'backend', vnet: '3', interface: 'virtio' as const, enabled: true };
    const done = await change('n1', { action: 'nic_add', nic });
    expect(done.entry).toMatchObject({ status: 'done', attempts: 2 });
    expect(done.entry.reconciled).toBeUndefined();
    // The name check, the turned-away POST, the lookup, the second POST (the same body).
    expect(rig.sim.requests.filter((r) => r.route.endsWith('/machine_nics')).map((r) => `${r.route} ${r.outcome}`)).toEqual([
      'GET /machine_nics 200',
      'POST /machine_nics 429',
      'GET /machine_nics 200',
      'POST /machine_nics 201',
    ]);
    const [first, second] = calls('POST /machine_nics').map((r) => r.body);
    expect(second).toEqual(first);
    const nics = [...rig.sim.state.table('machine_nics').values()].filter((n) => String(n.machine) === run.keys.machineKey && n.name === 'backend');
    expect(nics).toHaveLength(1);
    expect(done.entry.key).toBe(String(nics[0]!.$key));
    expect((await audit()).map((e) => [e.action, e.outcome, e.detail])).toEqual([
      [
        'vm.change_resent',
        'info',
        'add NIC backend on network 3 (virtio): VergeOS answered 429 and a lookup found it not done; sending it again (send 2 of at most 3)',
      ],
      ['vm.nic_add', 'ok', `add NIC backend on network 3 (virtio); key ${done.entry.key}`],
    ]);
  });

  it('a snapshot whose connection VergeOS dropped (not taken): sent again, one snapshot; a 429 after a drive was made: found, not sent again', async () => {
    rig.sim.faults.add({ route: 'POST /machine_snapshots', nth: 1, drop: true });
    rig.sim.faults.add({ route: 'POST /machine_drives', nth: 1, status: 429, retryAfter: 1, commit: true });
    const snap = await change('s1', { action: 'snapshot_create', name: 'before-upgrade', quiesce: false });
    expect(snap.entry).toMatchObject({ status: 'done', attempts: 2 });
    expect(calls('POST /machine_snapshots').map((r) => r.outcome)).toEqual(['dropped', 201]);
    expect((await rig.client.listSnapshots(run.keys.machineKey!)).map((x) => x.name)).toEqual(['before-upgrade']);

    const drive = { name: 'data', media: 'disk' as const, interface: 'virtio-scsi' as const, disksize: 10 * GIB };
    const added = await change('d1', { action: 'disk_add', drive });
    expect(added.entry).toMatchObject({ status: 'done', attempts: 1, reconciled: true });
    expect(calls('POST /machine_drives').map((r) => r.outcome)).toEqual([429]);
    expect((await audit()).filter((e) => e.action === 'vm.change_resent').map((e) => e.detail)).toEqual([
      expect.stringMatching(/: VergeOS dropped the connection and a lookup found it not done; sending it again \(send 2 of at most 3\)$/),
    ]);
  });

  it('turned away 3 times: 3 sends, then failed as before; any other unknown outcome (a 503) is not sent again', async () => {
    rig.sim.faults.add({ route: 'POST /machine_nics', nth: 1, times: 3, status: 429, retryAfter: 30 });
    const nic = { name: 'backend', vnet: '3', interface: 'virtio' as const, enabled: true };
    const refused = await change('n1', { action: 'nic_add', nic }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'VERGEOS_RATE_LIMITED', entry: { status: 'failed', attempts: 3 } });
    expect((refused as Error).message).toMatch(/It was looked up: it did not happen; ask again$/);
    expect(calls('POST /machine_nics').map((r) => r.outcome)).toEqual([429, 429, 429]);

    rig.sim.faults.add({ route: 'POST /machine_snapshots', nth: 1, status: 503 });
    const failed = await change('s1', { action: 'snapshot_create', name: 'base', quiesce: false }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'VERGEOS_UNAVAILABLE', entry: { status: 'failed', attempts: 1 } });
    expect(calls('POST /machine_snapshots').map((r) => r.outcome)).toEqual([503]);
  });

  it('a name taken since pre-flight (someone made a drive of that name meanwhile) fails it before anything is sent, so no lookup adopts theirs', async () => {
    const drive = { name: 'data', media: 'disk' as const, interface: 'virtio-scsi' as const, disksize: 10 * GIB };
    await rig.provisioner.reserveChange(run.id, { id: 'd1', change: { action: 'disk_add', drive }, actor: 'U0ALICE' });
    await rig.client.addDrive({ machine: run.keys.machineKey!, name: 'data', media: 'disk', disksize: GIB });
    rig.sim.requests.length = 0;
    const failure = await change('d1', { action: 'disk_add', drive }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'CHANGE_NAME_TAKEN', message: 'the VM has had a drive named data since this was asked; nothing was sent' });
    expect(calls('POST /machine_drives')).toHaveLength(0);
    expect(vm().changes).toMatchObject([{ id: 'd1', status: 'failed', attempts: 0 }]);
  });

  it('VergeOS refuses (a shrink): recorded failed with its words; asked again with that id, the same failure and no call', async () => {
    const drive = (await rig.client.listDrives(run.keys.machineKey!)).find((d) => d.media === 'disk')!;
    const failure = await change('g1', { action: 'disk_grow', drive: drive.name, disksize: 1024 * 1024 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ChangeFailure);
    expect((failure as ChangeFailure).message).toMatch(/only be expanded/);
    expect(vm().changes!.find((c) => c.id === 'g1')).toMatchObject({ status: 'failed', error: { message: (failure as Error).message } });
    const puts = calls('PUT /machine_drives/:key').length;
    await expect(change('g1', { action: 'disk_grow', drive: drive.name, disksize: 1024 * 1024 })).rejects.toThrow(/only be expanded/);
    expect(calls('PUT /machine_drives/:key')).toHaveLength(puts);
    expect((await audit()).map((e) => [e.action, e.outcome])).toEqual([['vm.disk_grow', 'failed']]);
  });

  it('a restore whose answer is lost is never sent again: nothing tells whether it happened', async () => {
    const snap = await change('s1', { action: 'snapshot_create', name: 'base', quiesce: false });
    await rig.provisioner.power(run.id, 'off', 'U0ALICE');
    rig.sim.faults.add({ route: 'POST /vm_actions', drop: true, commit: true, nth: 1 });
    rig.sim.requests.length = 0;
    const failure = await change('r1', { action: 'snapshot_restore', snapshot: 'base', power_off: false, snapshotKey: snap.entry.key! }).catch(
      (e: unknown) => e,
    );
    expect((failure as ChangeFailure).code).toBe('CHANGE_OUTCOME_UNKNOWN');
    expect(calls('POST /vm_actions').map((r) => (r.body as { action: string }).action)).toEqual(['restore']);
  });

  it('a process stopped after its PUT took effect: the next finds the change in flight, looks, and sends nothing again', async () => {
    // The PUT takes effect and its answer never comes; the process dies waiting.
    rig.sim.faults.add({ route: 'PUT /vms/:key', hang: true, commit: true, nth: 1 });
    void change('c1', resize(6, 12288)).catch(() => undefined);
    await expect.poll(() => calls('PUT /vms/:key').length).toBe(1);
    expect(vm().changes).toMatchObject([{ id: 'c1', status: 'in_flight', attempts: 1 }]);
    await rig.restart(true);
    expect(rig.provisioner.vmsWithChangesInFlight().map((v) => v.name)).toEqual(['chg-01']);
    const [resumed] = await rig.provisioner.resumeChanges(run.id);
    expect(resumed!.entry).toMatchObject({ id: 'c1', status: 'done', reconciled: true });
    expect(calls('PUT /vms/:key')).toHaveLength(1);
    expect(vm().spec.vm).toMatchObject({ cpu_cores: 6, ram: 12288 });
  });

  it('a process stopped mid power-cycle (off, not yet on): the next finds the resize done and powers the VM on again', async () => {
    // The power-on of the cycle never answers (nor happens): the process dies waiting.
    rig.sim.faults.add({ route: 'POST /vm_actions', hang: true, nth: 2 });
    void change('c1', resize(6, 12288, true)).catch(() => undefined);
    await expect.poll(() => calls('POST /vm_actions').length).toBe(2);
    await rig.restart(true);
    rig.sim.faults.clear();
    const [resumed] = await rig.provisioner.resumeChanges(run.id);
    expect(resumed!.entry).toMatchObject({ id: 'c1', status: 'done', reconciled: true });
    expect(calls('PUT /vms/:key')).toHaveLength(1);
    expect(calls('POST /vm_actions').map((r) => (r.body as { action: string }).action)).toEqual(['poweroff', 'poweron', 'poweron']);
    expect((await rig.client.machineStatus(run.keys.machineKey!))?.status).toBe('running');
    expect(vm().needRestart).toBeUndefined();
  });

  it('one change at a time: a second change while one is under way is refused as busy, and two asks of one id act once', async () => {
    await rig.provisioner.reserveChange(run.id, { id: 'c1', change: resize(2, 4096), actor: 'U0ALICE' });
    await expect(rig.provisioner.reserveChange(run.id, { id: 'c2', change: resize(3, 4096), actor: 'U0BOB' })).rejects.toThrow(/is being changed \(resize/);
    const [a, b] = await Promise.allSettled([change('c1', resize(2, 4096)), change('c1', resize(2, 4096))]);
    const done = [a, b].filter((r) => r.status === 'fulfilled');
    expect(done.length).toBeGreaterThanOrEqual(1);
    expect(calls('PUT /vms/:key')).toHaveLength(1);
    expect(vm().changes).toMatchObject([{ id: 'c1', status: 'done', attempts: 1 }]);
    // A withdrawal never touches a change that was sent.
    await rig.provisioner.withdrawReservedChange(run.id, 'c1');
    expect(vm().changes).toMatchObject([{ id: 'c1', status: 'done' }]);
  });

  it('a reservation its asker could not send (the VM busy) is withdrawn: nothing is sent, and the VM takes other changes', async () => {
    await rig.provisioner.reserveChange(run.id, { id: 'c1', change: resize(2, 4096), actor: 'U0ALICE' });
    await rig.provisioner.withdrawReservedChange(run.id, 'c1');
    expect(vm().changes).toEqual([]);
    expect(rig.provisioner.vmsWithChangesInFlight()).toEqual([]);
    await change('c2', resize(3, 4096));
    expect(calls('PUT /vms/:key').map((r) => r.body)).toEqual([{ cpu_cores: 3, ram: 4096 }]);
  });
});
