/**
 * A failure at any step leaves a resumable run; resuming finishes with exactly one VM and the
 * right children. Unknown POST outcomes are looked up, never blindly re-sent.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planSpec } from '../../src/plan/plan.js';
import { runResult } from '../../src/provision/result.js';
import { takenNames } from '../../src/preflight/check.js';
import { verifyAuditLog } from '../../src/store/audit.js';
import { provisioningRig, type ProvisioningRig } from '../helpers/core.js';
import { expectExactlyOnce, fullSpec, POST_STEPS } from '../helpers/full-spec.js';

describe('failure at each step, then resume', () => {
  let rig: ProvisioningRig;
  beforeEach(async () => {
    rig = await provisioningRig();
  });
  afterEach(() => rig.close());

  it.each(POST_STEPS)('fails at $stepId, records what exists, and resumes to one complete VM', async ({ stepId, route, nth }) => {
    const name = `fail-${stepId.replace(':', '-')}`;
    const spec = fullSpec(name);
    const stepIds = planSpec(spec).steps.map((s) => s.id);
    rig.sim.faults.add({ route, nth, status: 422, body: { err: `Injected refusal at ${stepId}` } });
    const run = await rig.provisioner.createRun(spec, { actor: 'test' });
    const failed = await rig.provisioner.execute(run.id);

    expect(failed.state).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'VERGEOS_VALIDATION', stepId, vergeosMessage: `Injected refusal at ${stepId}` });
    expect(failed.error?.message).toMatch(new RegExp(`^Step ${stepIds.indexOf(stepId) + 1} \\(.*\\) failed: VergeOS refused a field of this step`));
    const index = stepIds.indexOf(stepId);
    for (const [i, id] of stepIds.entries()) expect(failed.steps[id]?.status).toBe(i < index ? 'done' : i === index ? 'failed' : 'pending');
    expect(failed.keys.vmKey !== undefined).toBe(index > 0);

    rig.sim.faults.clear();
    const resumed = await rig.provisioner.execute(run.id, undefined, 'test-lead');
    expect(resumed.state).toBe('succeeded');
    await expectExactlyOnce(rig.sim, name);
    // The failed POST was refused, so resuming re-sent only it: one success per step.
    const successes = rig.sim.requests.filter((r) => r.method === 'POST' && r.outcome === 201);
    expect(successes).toHaveLength(POST_STEPS.length);
    expect((await verifyAuditLog(rig.audit.file)).ok).toBe(true);
  });

  it.each(POST_STEPS)('a lost answer at $stepId (done by VergeOS, connection dropped) is found by lookup, not re-sent', async ({ stepId, route, nth }) => {
    const name = `lost-${stepId.replace(':', '-')}`;
    rig.sim.faults.add({ route, nth, drop: true, commit: true });
    const run = await rig.provisioner.createRun(fullSpec(name), { actor: 'test' });
    const events: string[] = [];
    const finished = await rig.provisioner.execute(run.id, (e) => void events.push(e.type === 'step_done' && e.reconciled ? `reconciled ${e.stepId}` : e.type));
    expect(finished.state).toBe('succeeded');
    expect(finished.steps[stepId]).toMatchObject({ status: 'done', reconciled: true, attempts: 1 });
    expect(events).toContain(`reconciled ${stepId}`);
    await expectExactlyOnce(rig.sim, name);
    expect(rig.sim.requestsTo(route).filter((r) => r.method === 'POST')).toHaveLength(route === 'POST /machine_drives' ? 2 : 1);
  });

  it('a 429 on a POST is never re-sent blind: what VergeOS did is found by lookup; what it did not do is sent again, and past 3 sends fails in plain words', async () => {
    // Device: VergeOS attached it, then answered 429 (a proxy's budget, say): adopted, not re-sent.
    rig.sim.faults.add({ route: 'POST /machine_devices', nth: 1, status: 429, retryAfter: 1, commit: true });
    // NIC: refused with 429 before anything happened, three sends in a row (each looked up, then sent again).
    rig.sim.faults.add({ route: 'POST /machine_nics', nth: 1, times: 3, status: 429, retryAfter: 30 });
    const run = await rig.provisioner.createRun(fullSpec('limited'), { actor: 'test' });
    const failed = await rig.provisioner.execute(run.id);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'VERGEOS_RATE_LIMITED', stepId: 'nic:0' });
    expect(failed.error?.message).toBe(
      'Step 4 (NIC "uplink" on vnet 3 (virtio)) failed: VergeOS is rate-limiting the bot\'s key (429); nothing was made twice (each send was looked up first: not created). Retry in 30 s or later, or ask a VergeOS admin to raise the key\'s request budget.',
    );
    expect(failed.steps['nic:0']).toMatchObject({ status: 'failed', attempts: 3 });
    expect(rig.sim.requestsTo('POST /machine_nics')).toHaveLength(3);
    expect(rig.sim.requestsTo('GET /machine_nics')).toHaveLength(3); // a lookup after each

    rig.sim.faults.clear();
    rig.sim.faults.add({ route: 'POST /machine_devices', nth: 1, status: 429, retryAfter: 1, commit: true });
    const finished = await rig.provisioner.execute(run.id, undefined, 'test-lead');
    expect(finished.state).toBe('succeeded');
    expect(finished.steps['device:0']).toMatchObject({ status: 'done', reconciled: true, attempts: 1 });
    expect(rig.sim.requestsTo('POST /machine_devices')).toHaveLength(1);
    await expectExactlyOnce(rig.sim, 'limited');
  });

  it('a 429 while waiting for imports is waited out, and the VM powers on', async () => {
    rig.sim.faults.add({ route: 'GET /machine_drives', nth: 1, status: 429, retryAfter: 1 });
    const run = await rig.provisioner.createRun(fullSpec('import-limited'), { actor: 'test' });
    const finished = await rig.provisioner.execute(run.id);
    expect(finished.state).toBe('succeeded');
    expect(rig.sim.requestsTo('GET /machine_drives')[0]?.outcome).toBe(429);
    expect(rig.sim.requestsTo('GET /machine_drives')[1]?.outcome).toBe(200);
    await expectExactlyOnce(rig.sim, 'import-limited');
  });

  it('a POST that times out and did not happen is retried on resume, once', async () => {
    rig.sim.faults.add({ route: 'POST /machine_nics', nth: 1, hang: true });
    const run = await rig.provisioner.createRun(fullSpec('hang-nic'), { actor: 'test' });
    const failed = await rig.provisioner.execute(run.id);
    expect(failed.state).toBe('failed');
    expect(failed.error?.code).toBe('VERGEOS_TIMEOUT');
    expect(failed.error?.message).toMatch(/VergeOS did not answer \(timed out\); what is known to exist was looked up/);
    // Looked up right away: the NIC does not exist, so the step is known-failed, not in flight.
    expect(failed.steps['nic:0']?.status).toBe('failed');
    rig.sim.faults.clear();
    expect((await rig.provisioner.execute(run.id)).state).toBe('succeeded');
    await expectExactlyOnce(rig.sim, 'hang-nic');
  });

  it('a step left in flight (lookup impossible) is looked up first when resumed', async () => {
    // The POST is done by VergeOS but hangs; the lookup that follows finds VergeOS unavailable.
    rig.sim.faults.add({ route: 'POST /machine_devices', nth: 1, hang: true, commit: true });
    rig.sim.faults.add({ route: 'GET /machine_devices', status: 503 });
    const run = await rig.provisioner.createRun(fullSpec('inflight-device'), { actor: 'test' });
    const failed = await rig.provisioner.execute(run.id);
    expect(failed.state).toBe('failed');
    expect(failed.steps['device:0']?.status).toBe('in_flight');
    rig.sim.faults.clear();
    const resumed = await rig.provisioner.execute(run.id);
    expect(resumed.state).toBe('succeeded');
    expect(resumed.steps['device:0']).toMatchObject({ reconciled: true, attempts: 1 });
    expect(rig.sim.requestsTo('POST /machine_devices')).toHaveLength(1);
    await expectExactlyOnce(rig.sim, 'inflight-device');
  });

  it('after a lost create answer, a VM of the same name that is not ours is not adopted', async () => {
    await rig.client.createVm({ name: 'clash-01', cpu_cores: 2, ram: 2048, description: 'someone else' });
    rig.sim.faults.add({ route: 'POST /vms', nth: 1, drop: true });
    const run = await rig.provisioner.createRun(fullSpec('clash-01'), { actor: 'test' });
    const failed = await rig.provisioner.execute(run.id);
    // The drop means VergeOS did not take it; the lookup finds only their VM, so it is sent again and refused.
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'VERGEOS_NAME_TAKEN' });
    expect(rig.sim.requestsTo('POST /vms').map((r) => r.outcome)).toEqual([201, 'dropped', 409]); // theirs, then ours twice
    expect(failed.keys.vmKey).toBeUndefined();
    const again = await rig.provisioner.execute(run.id);
    expect(again.error).toMatchObject({ code: 'VERGEOS_NAME_TAKEN' });
    expect(again.keys.vmKey).toBeUndefined();
    expect(rig.sim.requestsTo('POST /machine_drives')).toHaveLength(0); // nothing attached to their VM
  });

  it('a taken name: VergeOS says 409, the run fails with the operator sentence, nothing else is sent', async () => {
    const run = await rig.provisioner.createRun(fullSpec('legacy-db'), { actor: 'test' });
    const failed = await rig.provisioner.execute(run.id);
    expect(failed.error).toMatchObject({ code: 'VERGEOS_NAME_TAKEN', stepId: 'create_vm' });
    expect(failed.error?.message).toMatch(/failed: the name legacy-db is taken in VergeOS; pick another/);
    expect(failed.steps.create_vm?.status).toBe('failed');
    expect(rig.sim.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(await takenNames(rig.client, ['legacy-db', 'web-template', 'free-name'])).toEqual(new Map([['legacy-db', '40']]));
  });

  it('says what is missing and what exists when VergeOS answers 404 or 507', async () => {
    const spec = fullSpec('bad-vnet');
    spec.nics[0]!.vnet = '77';
    const run = await rig.provisioner.createRun(spec, { actor: 'test' });
    const failed = await rig.provisioner.execute(run.id);
    expect(failed.error?.message).toMatch(/Step 4 \(NIC "uplink" on vnet 77 \(virtio\)\) failed: network \(vnet\) 77 does not exist in VergeOS/);
    const events: string[] = [];
    const full = fullSpec('too-big');
    full.drives[0]!.disksize = 10 * 1024 ** 4;
    const run2 = await rig.provisioner.createRun(full, { actor: 'test' });
    await rig.provisioner.execute(run2.id, (e) => void (e.type === 'run_failed' && events.push(e.created)));
    expect(rig.store.getRun(run2.id)?.error?.message).toMatch(/the storage tier 1 is full: choose a smaller disk or another tier/);
    expect(events[0]).toMatch(/^created so far: VM too-big \(VM key \d+, machine key \d+\)$/);
  });

  it('cleanup stops a running partial VM and deletes it with its children, exactly once', async () => {
    rig.sim.faults.add({ route: 'POST /machine_devices', nth: 1, status: 404, body: { err: 'Resource group not found' } });
    const spec = fullSpec('cleanup-me');
    const run = await rig.provisioner.createRun(spec, { actor: 'test' });
    const failed = await rig.provisioner.execute(run.id);
    expect(failed.state).toBe('failed');
    await new Promise((r) => setTimeout(r, 80)); // let the import finish
    await rig.client.powerOn(failed.keys.vmKey!); // someone started it meanwhile
    const [first, second] = await Promise.allSettled([rig.provisioner.cleanup(run.id, 'lead'), rig.provisioner.cleanup(run.id, 'lead')]);
    expect(first.status === 'fulfilled' && first.value.state).toBe('cleaned_up');
    expect(second.status).toBe('rejected');
    expect(rig.sim.requestsTo('DELETE /vms/:key')).toHaveLength(1);
    expect(rig.sim.requestsTo('POST /vm_actions').map((r) => (r.body as { action: string }).action)).toEqual(['poweron', 'poweroff']);
    expect(await rig.client.findVmByName('cleanup-me')).toBeUndefined();
    expect(await rig.client.listDrives(failed.keys.machineKey!)).toEqual([]);
    expect(runResult(rig.store.getRun(run.id)!).state).toBe('cleaned_up');
    await expect(rig.provisioner.cleanup(run.id, 'lead')).rejects.toThrow(/is cleaned_up, not failed or not_started or cleaning_up/);
  });
});
