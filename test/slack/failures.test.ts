/** A run that fails: the thread says why and what exists; lead-only Retry and Delete, exactly once. A restart resumes. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_SIM, type SlackMessage } from '../../src/sim/slack-sim.js';
import { startRig, textOf, until, type Rig } from '../helpers/bot.js';
import { fileRequest } from '../helpers/flows.js';

async function approveNew(rig: Rig, name: string): Promise<SlackMessage> {
  const approval = await fileRequest(rig, name);
  await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
  return approval;
}

const failureIn = (rig: Rig, approval: SlackMessage) =>
  until(() => rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts).find((m) => m.text.includes('provisioning failed')), 'the failure message', 15_000);

describe('failures in the thread', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.close());

  it('failure then retry: the run continues from the failed step, once, and completes', async () => {
    rig.vergeos.faults.add({ route: 'POST /machine_nics', nth: 1, status: 404, body: { err: "Network '3' not found" } });
    const approval = await approveNew(rig, 'retry-01');
    const failure = structuredClone(await failureIn(rig, approval));
    expect(textOf(failure)).toContain('network (vnet) 3 does not exist in VergeOS');
    expect(textOf(failure)).toMatch(/Created so far: VM retry-01 \(VM key \d+, machine key \d+\); drive \\"OS Drive\\" \(key \d+\)/);
    expect(rig.store.getRequest('REQ-1')?.state).toBe('failed');
    await until(() => rig.slack.channelMessages(SLACK_SIM.auditChannel).find((m) => m.text.includes('failed to provision')), 'the audit line');

    // A bystander's retry is refused; then two lead clicks retry once.
    await rig.driver.clickMessageButton(SLACK_SIM.bystander, failure, 'run_retry');
    await until(() => rig.slack.ephemerals.find((e) => e.user === SLACK_SIM.bystander), 'refusal');
    await Promise.all([
      rig.driver.clickMessageButton(SLACK_SIM.lead2, failure, 'run_retry'),
      rig.driver.clickMessageButton(SLACK_SIM.lead1, failure, 'run_retry'),
    ]);
    await until(() => rig.store.getRequest('REQ-1')?.state === 'succeeded', 'the retried run');
    await rig.bot.idle();
    expect(rig.vergeos.requestsTo('POST /vms')).toHaveLength(1);
    expect(rig.vergeos.requestsTo('POST /machine_drives')).toHaveLength(1);
    expect(rig.vergeos.requestsTo('POST /machine_nics').map((r) => r.outcome)).toEqual([404, 201]);
    await until(() => rig.slack.ephemerals.some((e) => /already|is provisioning/.test(e.text)), 'the second retry refused');
    expect(JSON.stringify(rig.slack.messages.find((m) => m.ts === failure.ts)!.blocks)).not.toContain('run_retry');
    await until(() => rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts).find((m) => m.text.includes('is ready')), 'the summary');
  });

  it('failure then delete: the partial VM is removed with its children, exactly once', async () => {
    rig.vergeos.faults.add({ route: 'POST /machine_nics', nth: 1, status: 507, body: { err: 'Insufficient storage' } });
    const approval = await approveNew(rig, 'delete-01');
    const failure = structuredClone(await failureIn(rig, approval));
    const vmKey = rig.store.listRuns()[0]!.keys.vmKey!;
    await Promise.all([
      rig.driver.clickMessageButton(SLACK_SIM.lead1, failure, 'run_cleanup'),
      rig.driver.clickMessageButton(SLACK_SIM.lead2, failure, 'run_cleanup'),
    ]);
    await until(() => rig.store.getRequest('REQ-1')?.state === 'cleaned_up', 'cleanup');
    await rig.bot.idle();
    expect(rig.vergeos.requestsTo('DELETE /vms/:key')).toHaveLength(1);
    expect(rig.vergeos.state.table('vms').has(vmKey)).toBe(false);
    expect(
      [...rig.vergeos.state.table('machine_drives').values()].some(
        (d) => d.name === 'OS Drive' && String(d.machine) === String(rig.store.listRuns()[0]!.keys.machineKey),
      ),
    ).toBe(false);
    await until(
      () => rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts).find((m) => m.text.includes(`Deleted delete-01 (VM key ${vmKey})`)),
      'the thread note',
    );
    await until(() => rig.slack.channelMessages(SLACK_SIM.auditChannel).find((m) => m.text.includes('partial VM deleted')), 'the audit line');
  });
});

describe('restart', () => {
  it('a bot stopped mid-run resumes on start, says so in the thread, and creates nothing twice', async () => {
    const rig = await startRig();
    try {
      // The NIC call hangs: the run is mid-way when the bot "dies".
      rig.vergeos.faults.add({ route: 'POST /machine_nics', nth: 1, hang: true, commit: true });
      const approval = await approveNew(rig, 'restart-01');
      await until(() => rig.vergeos.requests.find((r) => r.outcome === 'hung'), 'the hung call');
      rig.vergeos.faults.clear();
      await rig.restart(); // new store, provisioner and Bolt app on the same data
      await until(() => rig.store.getRequest('REQ-1')?.state === 'succeeded', 'the resumed run', 15_000);
      await rig.bot.idle();
      const thread = rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts).map((m) => m.text);
      expect(thread.some((t) => t.includes('The bot restarted while provisioning: resuming after step'))).toBe(true);
      expect(rig.vergeos.requestsTo('POST /vms')).toHaveLength(1);
      expect(rig.vergeos.requestsTo('POST /machine_nics')).toHaveLength(1); // found by lookup, not re-sent
      expect([...rig.vergeos.state.table('vms').values()].filter((v) => v.name === 'restart-01')).toHaveLength(1);
    } finally {
      await rig.close();
    }
  });
});

describe('resilience', () => {
  it('Slack failing to take a message does not change what happens in VergeOS', async () => {
    const rig = await startRig();
    try {
      const approval = await fileRequest(rig, 'flaky-slack-01');
      rig.slack.failNext.set('chat.postMessage', ['internal_error', 'ratelimited', 'internal_error']);
      rig.slack.failNext.set('chat.update', ['internal_error']);
      await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
      await until(() => rig.store.getRequest('REQ-1')?.state === 'succeeded', 'the run', 15_000);
      await rig.bot.idle();
      expect(rig.slack.calls.filter((c) => !c.ok).map((c) => c.error)).toEqual(expect.arrayContaining(['internal_error', 'ratelimited']));
      expect([...rig.vergeos.state.table('vms').values()].filter((v) => v.name === 'flaky-slack-01')).toHaveLength(1);
      await until(() => rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts).find((m) => m.text.includes('is ready')), 'the summary');
    } finally {
      await rig.close();
    }
  });

  it('a deletion interrupted by a restart is finished by the next bot', async () => {
    const rig = await startRig();
    try {
      rig.vergeos.faults.add({ route: 'POST /machine_nics', nth: 1, status: 422, body: { err: 'Invalid NIC' } });
      const approval = await approveNew(rig, 'half-deleted-01');
      const failure = structuredClone(await failureIn(rig, approval));
      rig.vergeos.faults.add({ route: 'DELETE /vms/:key', nth: 1, hang: true });
      await rig.driver.clickMessageButton(SLACK_SIM.lead1, failure, 'run_cleanup');
      await until(() => rig.vergeos.requests.find((r) => r.outcome === 'hung'), 'the hung delete');
      await rig.restart();
      await until(() => rig.store.getRequest('REQ-1')?.state === 'cleaned_up', 'the finished cleanup', 15_000);
      expect([...rig.vergeos.state.table('vms').values()].some((v) => v.name === 'half-deleted-01')).toBe(false);
      await until(
        () => rig.slack.channelMessages(SLACK_SIM.auditChannel).find((m) => m.text.includes('half-deleted-01* partial VM deleted')),
        'the audit line',
      );
    } finally {
      await rig.close();
    }
  });
});
