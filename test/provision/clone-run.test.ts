/**
 * A clone's run against the simulator: one `vm_actions` clone (new MACs), then power on with the
 * copy's key; a lost answer is looked up by the copy's name and never sent again; a power cut after
 * the clone resumes without a second one; the copy is a VM record of whoever asked, with its own lease.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planRun } from '../../src/plan/plan.js';
import { renderPlanText } from '../../src/plan/render.js';
import { runResult } from '../../src/provision/result.js';
import { vmIdOf, type RunRecord, type VmRecord } from '../../src/store/records.js';
import { configurationOf } from '../../src/store/vms-from-runs.js';
import type { VmSpec } from '../../src/vmspec/schema.js';
import { provisioningRig, recipeSpec, type ProvisioningRig } from '../helpers/core.js';

const DAY = 86_400_000;

describe('a clone run', () => {
  let rig: ProvisioningRig;
  let source: VmRecord;
  beforeEach(async () => {
    rig = await provisioningRig();
    const run = await rig.provisioner.createRun(await recipeSpec('web-server', 'src-01'), { actor: 'U0ALICE', lease: { forMs: 7 * DAY, maxMs: 30 * DAY } });
    expect((await rig.provisioner.execute(run.id)).state).toBe('succeeded');
    source = rig.store.getVm(vmIdOf(run.id))!;
    rig.sim.requests.length = 0;
  });
  afterEach(() => rig.close());

  const copySpec = (name: string): VmSpec => ({ ...source.spec, vm: { ...source.spec.vm, name }, power_on: true });
  const cloneRun = (name: string): Promise<RunRecord> =>
    rig.provisioner.createRun(copySpec(name), {
      actor: 'U0BOB',
      lease: { forMs: 3 * DAY, maxMs: 10 * DAY },
      clone: { vmKey: source.keys.vmKey, name: source.name },
    });
  /** The clone POSTs VergeOS received. */
  const clonePosts = () => rig.sim.requestsTo('POST /vm_actions').filter((r) => (r.body as { action?: string }).action === 'clone');
  const vmsNamed = (name: string) => [...rig.sim.state.table('vms').values()].filter((v) => v.name === name && !v.is_snapshot);

  it('plans the clone call and power on, and nothing else', async () => {
    const run = await cloneRun('src-01-copy');
    expect(Object.keys(run.steps)).toEqual(['clone_vm', 'power_on']);
    expect(run.clone).toEqual({ vmKey: source.keys.vmKey, name: 'src-01' });
    expect(renderPlanText(planRun(run))).toBe(
      [
        'Plan for VM src-01-copy (2 steps)',
        `   1. POST /api/v4/vm_actions  clone VM src-01 (VM key ${source.keys.vmKey}) as src-01-copy: its drives and NICs copied, new MAC addresses`,
        '   2. POST /api/v4/vm_actions  power on',
        'Power on uses the VM key of the copy, returned by step 1 (or found by its name).',
      ].join('\n'),
    );
    expect(planRun({ spec: { ...copySpec('off-copy'), power_on: false }, clone: run.clone }).steps.map((s) => s.id)).toEqual(['clone_vm']);
  });

  it('sends one clone, then powers the copy on; the copy is a VM record of the requester with its own lease', async () => {
    const before = Date.now();
    const run = await rig.provisioner.execute((await cloneRun('src-01-copy')).id, undefined, 'U0BOB');
    expect(run.state).toBe('succeeded');
    const [copy] = vmsNamed('src-01-copy');
    const vmKey = String(copy!.$key);
    expect(run.keys).toEqual({ vmKey, machineKey: String(copy!.machine) });
    expect(rig.sim.requests.filter((r) => r.method !== 'GET').map((r) => [r.route, r.body])).toEqual([
      ['POST /vm_actions', { vm: Number(source.keys.vmKey), action: 'clone', params: { name: 'src-01-copy', preserve_macs: false } }],
      ['POST /vm_actions', { vm: Number(vmKey), action: 'poweron', params: {} }],
    ]);
    expect(run.steps.clone_vm).toMatchObject({ status: 'done', attempts: 1, key: vmKey });
    expect(run.steps.clone_vm?.reconciled).toBeUndefined();
    expect(runResult(run)).toMatchObject({ name: 'src-01-copy', vmKey, poweredOn: true, drives: [], clonedFrom: { name: 'src-01', vmKey: source.keys.vmKey } });

    const vm = rig.store.getVm(vmIdOf(run.id))!;
    expect(vm).toMatchObject({
      state: 'live',
      name: 'src-01-copy',
      owner: 'U0BOB',
      runId: run.id,
      keys: run.keys,
      spec: configurationOf(copySpec('src-01-copy')),
    });
    expect(vm.lease).toMatchObject({ forMs: 3 * DAY, maxMs: 10 * DAY });
    expect(Date.parse(vm.lease!.endsAt!)).toBeGreaterThanOrEqual(before + 3 * DAY);
    // The source is untouched: still Alice's, its own lease.
    expect(rig.store.getVm(source.id)).toMatchObject({ owner: 'U0ALICE', lease: { forMs: 7 * DAY } });
    expect(rig.store.vmsBy('owner', 'U0BOB').map((v) => v.name)).toEqual(['src-01-copy']);
    // VergeOS copied the drive and the NIC (a new MAC), and the copy runs.
    const drives = await rig.client.listDrives(run.keys.machineKey!);
    expect(drives.map((d) => d.name)).toEqual(['OS Drive']);
    const [nic] = await rig.client.listNics(run.keys.machineKey!);
    const [sourceNic] = await rig.client.listNics(source.keys.machineKey!);
    expect(nic!.macaddress).not.toBe(sourceNic!.macaddress);
    expect((await rig.client.machineStatus(run.keys.machineKey!))?.running).toBe(true);
  });

  it('a lost answer to the clone (done by VergeOS, connection dropped) is found by name, not sent again', async () => {
    rig.sim.faults.add({ route: 'POST /vm_actions', nth: 1, drop: true, commit: true });
    const events: string[] = [];
    const run = await rig.provisioner.execute(
      (await cloneRun('lost-copy')).id,
      (e) => void events.push(e.type === 'step_done' ? `${e.stepId}${e.reconciled ? ' (looked up)' : ''}` : e.type),
    );
    expect(run.state).toBe('succeeded');
    expect(events).toEqual(['step_started', 'clone_vm (looked up)', 'step_started', 'power_on', 'run_succeeded']);
    expect(run.steps.clone_vm).toMatchObject({ status: 'done', reconciled: true, attempts: 1 });
    expect(clonePosts()).toHaveLength(1);
    expect(vmsNamed('lost-copy')).toHaveLength(1);
    expect(run.keys.vmKey).toBe(String(vmsNamed('lost-copy')[0]!.$key));
    expect(rig.store.getVm(vmIdOf(run.id))).toMatchObject({ owner: 'U0BOB', keys: run.keys });
  });

  it('an answer without the keys: the copy is read by its name (one clone sent)', async () => {
    rig.sim.faults.add({ route: 'POST /vm_actions', nth: 1, status: 201, body: { $key: '99' }, commit: true });
    const run = await rig.provisioner.execute((await cloneRun('keyless-copy')).id);
    expect(run.state).toBe('succeeded');
    expect(run.keys.vmKey).toBe(String(vmsNamed('keyless-copy')[0]!.$key));
    expect(clonePosts()).toHaveLength(1);
    expect(rig.sim.requestsTo('GET /vms').at(-1)?.query.filter).toBe("name eq 'keyless-copy' and is_snapshot eq false");
  });

  it('a power cut after the clone reached VergeOS: the restarted run looks the copy up and never clones twice', async () => {
    const run = await cloneRun('cut-copy');
    const updateRun = rig.store.updateRun.bind(rig.store);
    let cut = false;
    rig.sim.onRequest('POST /vm_actions', () => void (cut = true));
    rig.store.updateRun = (id, expect, mutate, options) => (cut ? Promise.reject(new Error('power cut')) : updateRun(id, expect, mutate, options));
    await expect(rig.provisioner.execute(run.id)).rejects.toThrow('power cut');
    expect(clonePosts()).toHaveLength(1);

    await rig.restart(true);
    const stored = rig.store.getRun(run.id)!;
    expect([stored.state, stored.steps.clone_vm?.status, stored.keys]).toEqual(['running', 'in_flight', {}]);
    expect(rig.provisioner.interruptedRuns().map((r) => r.id)).toEqual([run.id]);
    const resumed = await rig.provisioner.execute(run.id);
    expect(resumed.state).toBe('succeeded');
    expect(resumed.steps.clone_vm).toMatchObject({ status: 'done', reconciled: true, attempts: 1 });
    expect(clonePosts()).toHaveLength(1);
    expect(vmsNamed('cut-copy')).toHaveLength(1);
    expect(rig.store.getVm(vmIdOf(run.id))).toMatchObject({ name: 'cut-copy', owner: 'U0BOB', keys: resumed.keys });
  });

  /** A VM of `name` someone makes in the VergeOS UI: the source's size, or the one given. */
  const strangerNamed = async (name: string, size: { cpu_cores?: number; ram?: number } = {}) => {
    const created = await rig.client.createVm({
      name,
      description: 'made by hand in the VergeOS UI',
      cpu_cores: size.cpu_cores ?? source.spec.vm.cpu_cores ?? 1,
      ram: size.ram ?? source.spec.vm.ram ?? 1024,
    });
    return created.vmKey;
  };
  /** What a run must leave of a stranger's VM: its row as it was, no record of the bot, never powered on. */
  const expectUntouched = (run: RunRecord, vmKey: string, name: string) => {
    expect(run.keys).toEqual({});
    expect(rig.store.getVm(vmIdOf(run.id))).toBeUndefined();
    expect(vmsNamed(name).map((v) => String(v.$key))).toEqual([vmKey]);
    expect(rig.sim.requestsTo('POST /vm_actions').filter((r) => (r.body as { action?: string }).action === 'poweron')).toEqual([]);
  };

  it("a VM of the copy's name made in VergeOS after the request was filed: the run fails in words and sends no clone", async () => {
    const run = await cloneRun('web-copy');
    const stranger = await strangerNamed('web-copy');
    rig.sim.requests.length = 0;
    const failed = await rig.provisioner.execute(run.id);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'PROVISION_NOT_AS_APPROVED', stepId: 'clone_vm' });
    expect(failed.error?.message).toBe(
      `Step 1 (clone VM src-01 (VM key ${source.keys.vmKey}) as web-copy: its drives and NICs copied, new MAC addresses) failed: ` +
        'the name web-copy was taken in VergeOS after the request was filed; nothing was cloned — file it again with another name.',
    );
    expect(failed.steps.clone_vm).toMatchObject({ status: 'failed', attempts: 1 });
    expect(rig.sim.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expectUntouched(failed, stranger, 'web-copy');
    // Its cleanup has nothing of the stranger's to delete.
    expect((await rig.provisioner.cleanup(run.id, 'U0LEAD')).state).toBe('cleaned_up');
    expect(rig.sim.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
    expect(vmsNamed('web-copy')).toHaveLength(1);
  });

  it('a lost answer to a clone VergeOS never did, and a VM of that name but another size made meanwhile: not adopted', async () => {
    rig.sim.faults.add({ route: 'POST /vm_actions', nth: 1, drop: true, commit: false });
    let stranger = '';
    rig.sim.onRequest('POST /vm_actions', async () => void (stranger ||= await strangerNamed('lost-copy', { cpu_cores: (source.spec.vm.cpu_cores ?? 1) + 1 })));
    const run = await cloneRun('lost-copy');
    const failed = await rig.provisioner.execute(run.id);
    expect(failed.state).toBe('failed');
    // The drop means VergeOS did not take it, and the lookup adopts no stranger: a second send is
    // saved (attempt 2), and its name check finds the name taken, so no second clone leaves.
    expect(failed.steps.clone_vm).toMatchObject({ status: 'failed', attempts: 2 });
    expect(failed.error?.message).toMatch(/the name lost-copy was taken in VergeOS after the request was filed; nothing was cloned/);
    expect(failed.steps.clone_vm?.reconciled).toBeUndefined();
    expect(rig.sim.requestsTo('GET /vms').at(-1)?.query.filter).toBe("name eq 'lost-copy' and is_snapshot eq false");
    expect(clonePosts()).toHaveLength(1);
    expectUntouched(failed, stranger, 'lost-copy');
    // Run again: the name is now taken, so nothing is sent.
    const retried = await rig.provisioner.execute(run.id);
    expect(retried.error?.message).toMatch(/the name lost-copy was taken in VergeOS after the request was filed; nothing was cloned/);
    expect(clonePosts()).toHaveLength(1);
    expectUntouched(retried, stranger, 'lost-copy');
  });

  it("an answer without keys, and the VM of that name is another record's (same size and description): not adopted, left to look up", async () => {
    rig.sim.faults.add({ route: 'POST /vm_actions', nth: 1, status: 201, body: { $key: '99' }, commit: false });
    // The source itself, renamed to the copy's name while the clone is answered: it is exactly as
    // the copy would be, but Alice's run holds it.
    rig.sim.onRequest('POST /vm_actions', () => void (rig.sim.state.table('vms').get(source.keys.vmKey)!.name = 'keyless-copy'));
    const run = await cloneRun('keyless-copy');
    const failed = await rig.provisioner.execute(run.id);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'PROVISION_CLONE_NOT_FOUND', stepId: 'clone_vm' });
    expect(failed.steps.clone_vm).toMatchObject({ status: 'in_flight', attempts: 1 });
    expect(clonePosts()).toHaveLength(1);
    expectUntouched(failed, source.keys.vmKey, 'keyless-copy');
    expect(rig.store.getVm(source.id)).toMatchObject({ owner: 'U0ALICE', keys: source.keys });
    // Resumed, the lookup passes it over again and the name is taken: nothing more is sent.
    const resumed = await rig.provisioner.execute(run.id);
    expect(resumed.state).toBe('failed');
    expect(resumed.steps.clone_vm?.reconciled).toBeUndefined();
    expect(clonePosts()).toHaveLength(1);
    expectUntouched(resumed, source.keys.vmKey, 'keyless-copy');
  });

  it('a source VergeOS no longer has: the run fails in words, nothing created, and nothing to clean up but the run', async () => {
    const run = await rig.provisioner.createRun(copySpec('orphan-copy'), { actor: 'U0BOB', clone: { vmKey: '999', name: 'vanished' } });
    const failed = await rig.provisioner.execute(run.id);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'VERGEOS_NOT_FOUND', stepId: 'clone_vm' });
    expect(failed.error?.message).toMatch(
      /^Step 1 \(clone VM vanished \(VM key 999\) as orphan-copy: .*\) failed: the VM to copy, vanished \(VM key 999\), no longer exists in VergeOS/,
    );
    expect(failed.steps.clone_vm?.status).toBe('failed');
    expect((await rig.provisioner.cleanup(run.id, 'U0LEAD')).state).toBe('cleaned_up');
    expect(rig.sim.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
  });
});
