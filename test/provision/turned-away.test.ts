/**
 * A POST VergeOS turned away — a 429, or the connection dropped under it — is looked up, and only
 * when nothing was made is it sent again: at most 3 sends of a step in one execution, each saved
 * in flight first (attempts + 1), so a crash between sends still leads to a lookup. Any other
 * unknown outcome still fails the run. Against the loopback simulator, with no request budget.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readAuditRecords, verifyAuditLog, type AuditRecord } from '../../src/store/audit.js';
import { provisioningRig, type ProvisioningRig } from '../helpers/core.js';
import { expectExactlyOnce, fullSpec } from '../helpers/full-spec.js';

describe('a POST VergeOS turned away is sent again once a lookup finds nothing made', () => {
  let rig: ProvisioningRig;
  beforeEach(async () => {
    rig = await provisioningRig();
  });
  afterEach(() => rig.close());

  const calls = (...routes: string[]) => rig.sim.requests.filter((r) => routes.includes(r.route)).map((r) => `${r.route} ${r.outcome}`);
  async function audit(runId: string): Promise<AuditRecord[]> {
    const records: AuditRecord[] = [];
    for await (const r of readAuditRecords(rig.audit.file)) if (r.runId === runId) records.push(r);
    return records;
  }

  it('a 429 on a NIC (nothing made): looked up, sent again, one NIC, 2 attempts on record', async () => {
    rig.sim.faults.add({ route: 'POST /machine_nics', nth: 1, status: 429, retryAfter: 1 });
    const run = await rig.provisioner.createRun(fullSpec('limited-nic'), { actor: 'test' });
    const finished = await rig.provisioner.execute(run.id);

    expect(finished.state).toBe('succeeded');
    expect(finished.steps['nic:0']).toMatchObject({ status: 'done', attempts: 2 });
    expect(finished.steps['nic:0']?.reconciled).toBeUndefined();
    expect(calls('POST /machine_nics', 'GET /machine_nics')).toEqual(['POST /machine_nics 429', 'GET /machine_nics 200', 'POST /machine_nics 201']);
    // The same body both times, to the same machine.
    const [first, second] = rig.sim.requestsTo('POST /machine_nics').map((r) => r.body);
    expect(first).toMatchObject({ name: 'uplink', vnet: '3', machine: finished.keys.machineKey });
    expect(second).toEqual(first);
    await expectExactlyOnce(rig.sim, 'limited-nic');
    // Every other step went once.
    for (const [id, progress] of Object.entries(finished.steps)) if (id !== 'nic:0' && id !== 'wait_imports') expect(progress.attempts, id).toBe(1);

    const records = await audit(run.id);
    const resent = records.filter((r) => r.action === 'run.step_resent');
    expect(resent.map((r) => [r.outcome, r.detail])).toEqual([
      ['info', 'nic:0: VergeOS answered 429 and a lookup found nothing made; sending it again (send 2 of at most 3)'],
    ]);
    const nicDone = records.find((r) => r.action === 'run.step_done' && r.detail === 'nic:0');
    expect(records.indexOf(resent[0]!)).toBeLessThan(records.indexOf(nicDone!));
    expect((await verifyAuditLog(rig.audit.file)).ok).toBe(true);
  });

  it('a dropped connection on create (nothing made): looked up by name, sent again, one VM', async () => {
    rig.sim.faults.add({ route: 'POST /vms', nth: 1, drop: true });
    const run = await rig.provisioner.createRun(fullSpec('dropped-vm'), { actor: 'test' });
    const finished = await rig.provisioner.execute(run.id);

    expect(finished.state).toBe('succeeded');
    expect(finished.steps.create_vm).toMatchObject({ status: 'done', attempts: 2 });
    expect(calls('POST /vms', 'GET /vms')).toEqual(['POST /vms dropped', 'GET /vms 200', 'POST /vms 201']);
    expect(rig.sim.requestsTo('POST /vms').map((r) => (r.body as { name: string }).name)).toEqual(['dropped-vm', 'dropped-vm']);
    // The children went to the one VM made, once each.
    expect(calls('POST /machine_drives', 'POST /machine_nics', 'POST /machine_devices')).toEqual([
      'POST /machine_drives 201',
      'POST /machine_drives 201',
      'POST /machine_nics 201',
      'POST /machine_devices 201',
    ]);
    await expectExactlyOnce(rig.sim, 'dropped-vm');
    const resent = (await audit(run.id)).filter((r) => r.action === 'run.step_resent').map((r) => r.detail);
    expect(resent).toEqual(['create_vm: VergeOS dropped the connection and a lookup found nothing made; sending it again (send 2 of at most 3)']);
  });

  it('a 429 that came after the NIC was made: the lookup finds it and nothing is sent again', async () => {
    rig.sim.faults.add({ route: 'POST /machine_nics', nth: 1, status: 429, retryAfter: 1, commit: true });
    const run = await rig.provisioner.createRun(fullSpec('late-429'), { actor: 'test' });
    const finished = await rig.provisioner.execute(run.id);

    expect(finished.state).toBe('succeeded');
    expect(finished.steps['nic:0']).toMatchObject({ status: 'done', attempts: 1, reconciled: true });
    expect(calls('POST /machine_nics', 'GET /machine_nics')).toEqual(['POST /machine_nics 429', 'GET /machine_nics 200']);
    await expectExactlyOnce(rig.sim, 'late-429');
    expect((await audit(run.id)).filter((r) => r.action === 'run.step_resent')).toEqual([]);
  });

  it('turned away 3 times: 3 sends, each looked up, then the run fails; resuming later sends it and finishes', async () => {
    rig.sim.faults.add({ route: 'POST /machine_nics', nth: 1, times: 3, status: 429, retryAfter: 30 });
    const run = await rig.provisioner.createRun(fullSpec('limited-thrice'), { actor: 'test' });
    const failed = await rig.provisioner.execute(run.id);

    expect(failed.state).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'VERGEOS_RATE_LIMITED', stepId: 'nic:0' });
    expect(failed.steps['nic:0']).toMatchObject({ status: 'failed', attempts: 3 });
    expect(calls('POST /machine_nics', 'GET /machine_nics')).toEqual([
      'POST /machine_nics 429',
      'GET /machine_nics 200',
      'POST /machine_nics 429',
      'GET /machine_nics 200',
      'POST /machine_nics 429',
      'GET /machine_nics 200',
    ]);
    expect((await audit(run.id)).filter((r) => r.action === 'run.step_resent').map((r) => r.detail)).toEqual([
      'nic:0: VergeOS answered 429 and a lookup found nothing made; sending it again (send 2 of at most 3)',
      'nic:0: VergeOS answered 429 and a lookup found nothing made; sending it again (send 3 of at most 3)',
    ]);

    const finished = await rig.provisioner.execute(run.id, undefined, 'test-lead');
    expect(finished.state).toBe('succeeded');
    expect(finished.steps['nic:0']).toMatchObject({ status: 'done', attempts: 4 });
    await expectExactlyOnce(rig.sim, 'limited-thrice');
  });

  it('any other unknown outcome (a 503 on the POST) is looked up and fails as before: not sent again', async () => {
    rig.sim.faults.add({ route: 'POST /machine_nics', nth: 1, status: 503 });
    const run = await rig.provisioner.createRun(fullSpec('unavailable-nic'), { actor: 'test' });
    const failed = await rig.provisioner.execute(run.id);

    expect(failed.state).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'VERGEOS_UNAVAILABLE', stepId: 'nic:0' });
    expect(failed.steps['nic:0']).toMatchObject({ status: 'failed', attempts: 1 });
    expect(calls('POST /machine_nics', 'GET /machine_nics')).toEqual(['POST /machine_nics 503', 'GET /machine_nics 200']);
    expect((await audit(run.id)).filter((r) => r.action === 'run.step_resent')).toEqual([]);
  });

  it('a second send whose own outcome is lost stays in flight at attempt 2; after a crash the next process looks it up and sends nothing', async () => {
    rig.sim.faults.add([
      { route: 'POST /machine_nics', nth: 1, status: 429, retryAfter: 1 },
      // The second send is made, but its answer never comes; the lookup after it finds VergeOS unavailable.
      { route: 'POST /machine_nics', nth: 2, hang: true, commit: true },
      { route: 'GET /machine_nics', nth: 2, times: 10, status: 503 },
    ]);
    const run = await rig.provisioner.createRun(fullSpec('inflight-resend'), { actor: 'test' });
    const failed = await rig.provisioner.execute(run.id);
    expect(failed.state).toBe('failed');
    expect(failed.steps['nic:0']).toMatchObject({ status: 'in_flight', attempts: 2 });

    await rig.restart(true);
    rig.sim.faults.clear();
    expect(rig.store.getRun(run.id)?.steps['nic:0']).toMatchObject({ status: 'in_flight', attempts: 2 });
    const resumed = await rig.provisioner.execute(run.id);
    expect(resumed.state).toBe('succeeded');
    expect(resumed.steps['nic:0']).toMatchObject({ status: 'done', attempts: 2, reconciled: true });
    expect(rig.sim.requestsTo('POST /machine_nics').map((r) => r.outcome)).toEqual([429, 'hung']);
    await expectExactlyOnce(rig.sim, 'inflight-resend');
  });
});
