/** Batches from Slack: the modal's count and name pattern, one approval, one progress message, split summary, one audit line. */
import { afterEach, describe, expect, it } from 'vitest';
import { readAuditRecords, type AuditRecord } from '../../src/store/audit.js';
import { SLACK_SIM, type SlackMessage } from '../../src/sim/slack-sim.js';
import { startRig, textOf, until, type Rig } from '../helpers/bot.js';

async function fileBatch(rig: Rig, pattern: string, count: number, recipe = 'web-server'): Promise<SlackMessage> {
  await rig.driver.command(SLACK_SIM.requester, recipe);
  const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');
  const reply = await rig.driver.submit(SLACK_SIM.requester, modal, { name: pattern, count: String(count) });
  expect(reply.body).toBe('');
  return until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel).at(-1), 'the approval message');
}

describe('batches from Slack', () => {
  let rig: Rig;
  afterEach(() => rig.close());

  it('pre-flight covers the whole batch: more than the tier holds, or more than allowed, is a field error', async () => {
    rig = await startRig({ env: { VM_BATCH_MAX: '20' } });
    await rig.driver.command(SLACK_SIM.requester, 'web-server');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');
    const big = await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'big-{n}', count: '20' });
    expect((big.json as { errors: Record<string, string> }).errors).toEqual({
      'drive_size_0.0':
        'tier 1 has 1.4 TiB free (512 GiB used, 512 GiB allocated of 2 TiB; 5% kept in reserve); 20 × 100 GiB needs 1.95 TiB: choose smaller disks, another tier or fewer VMs',
    });
    const tooMany = await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'big-{n}', count: '21' });
    expect((tooMany.json as { errors: Record<string, string> }).errors).toEqual({
      'count.0': 'at most 20 VMs in one request; ask a lead for more, or use the vmbot command line',
    });
    const { vmKey } = rig.vergeos.state.createVm({ name: 'mine-2', cluster: '1', ram: 1024, cpu_cores: 1 });
    const taken = await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'mine-{n}', count: '3' });
    expect((taken.json as { errors: Record<string, string> }).errors).toEqual({
      'name.0': `1 of the 3 names are already taken in VergeOS: mine-2 (VM key ${vmKey}); pick another name pattern`,
    });
    expect(rig.vergeos.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('a batch of 5: one approval shows the batch, one progress message, one summary with every key, one audit line', async () => {
    rig = await startRig();
    const approval = await fileBatch(rig, 'team-{n}', 5);
    const shown = textOf(approval);
    expect(approval.text).toContain('REQ-1: <@U0REQUESTER> asks for 5 VMs team-{n} (team-1 … team-5)');
    expect(shown).toContain('*Totals*\\n20 vCPU, 40 GiB RAM, 500 GiB new disk on tier 1');
    expect(shown).toContain('*Plan of each VM*');
    expect(shown).toContain('all 5 names free');
    expect(rig.store.getRequest('REQ-1')).toMatchObject({ batch: { count: 5, pattern: 'team-{n}' }, spec: { vm: { name: 'team-1' } } });

    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await until(() => rig.store.getRequest('REQ-1')?.state === 'succeeded', 'the batch', 15_000);
    await rig.bot.idle();
    const runs = rig.bot.ctx.provisioner.runsForRequest('REQ-1');
    expect(runs.map((r) => [r.spec.vm.name, r.state])).toEqual([1, 2, 3, 4, 5].map((n) => [`team-${n}`, 'succeeded']));
    expect(new Set(runs.map((r) => r.group)).size).toBe(1);

    // The thread: the progress message (edited) and the summary, nothing else.
    const thread = rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts);
    expect(thread).toHaveLength(2);
    expect(thread[0]!.text).toBe('Provisioning 5 × team-{n}: finished 5 of 5 ready');
    const summary = textOf(thread[1]!);
    expect(thread[1]!.text).toBe('REQ-1: 5 of 5 VMs ready');
    for (const run of runs) expect(summary).toContain(`*${run.spec.vm.name}*: VM key *${run.keys.vmKey}*, machine key *${run.keys.machineKey}*`);

    const audit = rig.slack.channelMessages(SLACK_SIM.auditChannel);
    expect(audit).toHaveLength(1);
    expect(audit[0]!.text).toMatch(
      /^:white_check_mark: \*5 × team-\{n\}\* \(team-1 … team-5\) provisioned · 5 of 5 ready · 4 vCPU, 8 GiB RAM, 1 drive \(100 GiB new disk\), 1 NIC each · requested by <@U0REQUESTER>, approved by <@U0LEAD1>/,
    );
    const records: AuditRecord[] = [];
    for await (const r of readAuditRecords(`${rig.dir}/data/audit.jsonl`)) records.push(r);
    expect(
      records
        .filter((r) => r.action === 'run.succeeded')
        .map((r) => r.vmName)
        .sort(),
    ).toEqual(runs.map((r) => r.spec.vm.name).sort());
    expect(records.filter((r) => r.action === 'request.succeeded')).toEqual([
      expect.objectContaining({ vmName: '5 × team-{n}', detail: '5 of 5 VMs provisioned' }),
    ]);
    expect(rig.slack.dms(SLACK_SIM.requester).at(-1)!.text).toContain('is ready: all 5 VMs');
  });

  it('a batch that hits a full tier stops; one click deletes its partial VMs, and a double click deletes them once', async () => {
    rig = await startRig({ env: { VM_BATCH_CONCURRENCY: '2' } });
    const approval = await fileBatch(rig, 'stop-{n}', 5);
    rig.vergeos.faults.add({ route: 'POST /machine_drives', status: 507, body: { err: 'Insufficient storage on tier 1' } });
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    const failure = structuredClone(
      await until(() => rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts).find((m) => m.text.includes('VMs failed')), 'the failure message', 15_000),
    );
    expect(failure.text).toBe('REQ-1: 2 of 5 VMs failed, 3 not started');
    expect(textOf(failure)).toMatch(/3 VMs were not started: the batch stopped after stop-\d failed: .*storage tier 1 is full/);
    expect(textOf(failure)).toContain('"text":"Delete 2 partial VMs"');
    expect(textOf(failure)).toContain('"text":"Retry 5 VMs"');
    expect(rig.vergeos.requestsTo('POST /vms')).toHaveLength(2);
    const partialKeys = rig.bot.ctx.provisioner
      .runsForRequest('REQ-1')
      .filter((r) => r.keys.vmKey)
      .map((r) => r.keys.vmKey);
    expect(partialKeys).toHaveLength(2);

    await Promise.all([
      rig.driver.clickMessageButton(SLACK_SIM.lead1, failure, 'run_cleanup'),
      rig.driver.clickMessageButton(SLACK_SIM.lead2, failure, 'run_cleanup'),
    ]);
    await until(() => rig.store.getRequest('REQ-1')?.state === 'cleaned_up', 'the cleanup');
    await rig.bot.idle();
    expect(
      rig.vergeos
        .requestsTo('DELETE /vms/:key')
        .map((r) => r.path.split('/').pop())
        .sort(),
    ).toEqual([...partialKeys].sort());
    expect([...rig.vergeos.state.table('vms').values()].filter((v) => String(v.name).startsWith('stop-'))).toEqual([]);
    await until(() => rig.slack.ephemerals.find((e) => /already being deleted|nothing more was changed|already/.test(e.text)), 'the second click refused');
    await until(
      () => rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts).find((m) => m.text.startsWith(':wastebasket: Deleted 2 partial VMs: stop-')),
      'the thread note',
    );
    await until(() => !JSON.stringify(rig.slack.messages.find((m) => m.ts === failure.ts)!.blocks).includes('run_cleanup'), 'the buttons removed');
    await until(() => rig.slack.channelMessages(SLACK_SIM.auditChannel).find((m) => m.text.includes('partial VMs deleted')), 'the audit line');
  });

  it('10 requests approved at once in one channel: every summary arrives and Slack never answers 429', async () => {
    // One requester files all ten: the per-person limits are raised (this measures Slack's pace).
    rig = await startRig({ rateFactor: 4, env: { VM_MAX_PENDING_PER_USER: '20', VM_SUBMISSIONS_PER_HOUR: '50' } });
    const approvals: SlackMessage[] = [];
    for (let i = 1; i <= 10; i++) approvals.push(structuredClone(await fileBatch(rig, `ten-${i}-{n}`, 2, 'iso-install')));
    await Promise.all(approvals.map((a) => rig.driver.clickMessageButton(SLACK_SIM.lead1, a, 'request_approve')));
    for (const a of approvals)
      await until(() => rig.slack.thread(SLACK_SIM.approvalChannel, a.ts).find((m) => m.text.includes('2 of 2 VMs ready')), 'a summary', 30_000);
    await rig.bot.idle();
    expect(rig.slack.rateLimited()).toEqual([]);
    for (const a of approvals) expect(rig.slack.thread(SLACK_SIM.approvalChannel, a.ts)).toHaveLength(2);
  });
});
