/** The approval policy through the real Bolt app: auto, two approvers, the requester, deny, quota, reload. */
import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_SIM, type SlackMessage } from '../../src/sim/slack-sim.js';
import { readAuditRecords, type AuditRecord } from '../../src/store/audit.js';
import { startRig, textOf, until, type Rig } from '../helpers/bot.js';

const POLICY = `version: 1
groups:
  gpu-owners: [U0LEAD1, U0LEAD2, U0BYSTANDER]
quotas:
  per_user: { vcpu: 6 }
rules:
  - name: no-big-ram
    when: { ram: { min: 100GiB } }
    deny: VMs over 100 GiB of RAM need a capacity review first.
  - name: gpu-two-owners
    when: { devices: [gpu, vgpu] }
    approve: { count: 2, from: ["@gpu-owners"] }
  - name: small-auto
    when: { vcpu: { max: 2 }, devices: none }
    within_quota: true
    lease_max: 14d
    auto: true
`;

async function submitForm(rig: Rig, recipe: string, typed: Record<string, string>) {
  await rig.driver.command(SLACK_SIM.requester, recipe);
  const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');
  rig.slack.closeView(modal.id);
  return rig.driver.submit(SLACK_SIM.requester, modal, typed);
}

async function file(rig: Rig, recipe: string, typed: Record<string, string>): Promise<SlackMessage> {
  const before = rig.slack.channelMessages(SLACK_SIM.approvalChannel).length;
  const reply = await submitForm(rig, recipe, typed);
  expect(reply.body).toBe('');
  return until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel)[before], 'the approval message');
}

async function audit(rig: Rig): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for await (const r of readAuditRecords(rig.audit.file)) records.push(r);
  return records;
}

describe('the approval policy in Slack', () => {
  let rig: Rig;
  let policyFile: string;
  beforeEach(async () => {
    rig = await startRig({ policy: POLICY });
    policyFile = rig.policyFile;
  });
  afterEach(() => rig.close());

  it('a small VM within quota provisions with no click, says which rule, and the audit names rule and policy hash', async () => {
    const approval = await file(rig, 'iso-install', { name: 'auto-01' });
    expect(textOf(approval)).toContain(':robot_face: Approved without a click by rule *small-auto*');
    expect(JSON.stringify(approval.blocks)).not.toContain('request_approve');
    await until(() => rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts).find((m) => m.text.includes('is ready')), 'the summary', 15_000);
    const dm = await until(() => rig.slack.dms(SLACK_SIM.requester).find((m) => m.text.includes('approved without a click')), 'the requester told at once');
    expect(dm.text).toContain('was approved without a click by rule small-auto');
    const hash = rig.bot.ctx.policy.current.hash;
    const records = await audit(rig);
    expect(records.find((r) => r.action === 'request.approved')).toMatchObject({
      actor: 'policy',
      detail: `approved without a click by rule small-auto (policy ${hash})`,
    });
    expect(records.find((r) => r.action === 'request.created')?.detail).toContain(`approved by rule small-auto (policy ${hash})`);
    await until(() => rig.slack.channelMessages(SLACK_SIM.auditChannel).find((m) => m.text.includes('approved by rule small-auto')), 'the audit line');
  });

  it('over quota, the same small VMs go to approval instead, and the message shows the quota', async () => {
    const first = await file(rig, 'iso-install', { name: 'q-1' });
    await until(() => rig.slack.thread(SLACK_SIM.approvalChannel, first.ts).find((m) => m.text.includes('is ready')), 'the first VM', 15_000);
    // The form shows the requester's quota use before they ask.
    await rig.driver.command(SLACK_SIM.requester, 'iso-install');
    const form = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');
    rig.slack.closeView(form.id);
    expect(JSON.stringify(form.view.blocks)).toContain(':bar_chart: Your quota (VMs made through the bot): 2 of 6 vCPU');
    const batch = await file(rig, 'iso-install', { name: 'q-more-{n}', count: '3' });
    expect(rig.store.getRequest('REQ-2')).toMatchObject({ state: 'pending', policy: { rule: 'default', decision: 'approve' } });
    expect(textOf(batch)).toContain('Quota: 2 of 6 vCPU now; 8 of 6 vCPU with this (over: 8 of 6 vCPU)');
    expect(JSON.stringify(batch.blocks)).toContain('request_approve');
  });

  it("a rule's lease_max: a longer lease is a field error; a shorter one caps later extensions", async () => {
    const long = await submitForm(rig, 'iso-install', { name: 'long-01', keep_for: '30d' });
    expect((long.json as { errors: Record<string, string> }).errors).toEqual({
      'keep_for.0': 'the approval policy (rule small-auto) keeps these VMs at most 2 weeks; choose a shorter time',
    });
    const approval = await file(rig, 'iso-install', { name: 'short-01', keep_for: '7d' });
    expect(textOf(approval)).toContain('rule *small-auto*');
    expect(rig.store.getRequest('REQ-1')?.lease).toEqual({ forMs: 7 * 86_400_000, maxMs: 14 * 86_400_000 });
  });

  it('a deny rule is a field error in the modal, on the audit trail, and nothing is filed', async () => {
    const reply = await submitForm(rig, 'web-server', { name: 'huge-01', ram: '128GiB' });
    expect((reply.json as { errors: Record<string, string> }).errors).toEqual({
      'name.0': 'Not allowed by the approval policy (rule no-big-ram): VMs over 100 GiB of RAM need a capacity review first.',
    });
    expect(rig.store.listRequests()).toEqual([]);
    expect((await audit(rig)).find((r) => r.action === 'request.denied_by_policy')).toMatchObject({
      actor: SLACK_SIM.requester,
      outcome: 'refused',
      vmName: 'huge-01',
    });
  });

  it('a GPU request needs two different owners: the requester never counts, a second click by one owner counts once, racing second approvals start one run', async () => {
    const approval = structuredClone(await file(rig, 'gpu-workstation', { name: 'gpu-01' }));
    expect(textOf(approval)).toContain('rule *gpu-two-owners*');
    expect(textOf(approval)).toContain('needs 2 of @gpu-owners — 0 of 2 so far.');
    await rig.driver.clickMessageButton(SLACK_SIM.requester, approval, 'request_approve');
    await until(() => rig.slack.ephemerals.find((e) => e.user === SLACK_SIM.requester), 'the requester refused');
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await until(() => rig.store.getRequest('REQ-1')?.approvals.length === 1, 'one approval');
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await until(
      () => rig.slack.ephemerals.find((e) => e.user === SLACK_SIM.lead1 && e.text.startsWith('You already approved REQ-1')),
      'the second click refused',
    );
    expect(rig.store.getRequest('REQ-1')).toMatchObject({ state: 'pending', approvals: [{ user: SLACK_SIM.lead1 }] });
    await until(
      () => textOf(rig.slack.messages.find((m) => m.ts === approval.ts)!).includes('1 of 2 so far: <@U0LEAD1>'),
      'the message shows the first approval',
    );
    expect(rig.vergeos.requestsTo('POST /vms')).toHaveLength(0);

    await Promise.all([
      rig.driver.clickMessageButton(SLACK_SIM.lead2, approval, 'request_approve'),
      rig.driver.clickMessageButton(SLACK_SIM.bystander, approval, 'request_approve'),
    ]);
    await until(() => rig.store.getRequest('REQ-1')?.state === 'succeeded', 'the run', 15_000);
    await rig.bot.idle();
    expect(rig.vergeos.requestsTo('POST /vms')).toHaveLength(1);
    const request = rig.store.getRequest('REQ-1')!;
    expect(request.approvals.map((a) => a.user)).toEqual([SLACK_SIM.lead1, request.decidedBy]);
    expect(textOf(rig.slack.messages.find((m) => m.ts === approval.ts)!)).toContain(`Approved by <@U0LEAD1> and <@${request.decidedBy}>`);
    const records = await audit(rig);
    expect(records.filter((r) => r.action === 'request.approval_counted').map((r) => r.actor)).toEqual([SLACK_SIM.lead1]);
    expect(records.filter((r) => r.action === 'request.approved').map((r) => r.detail)).toEqual([
      `2 of 2 under rule gpu-two-owners (policy ${rig.bot.ctx.policy.current.hash})`,
    ]);
  });

  it('a changed file is reloaded; a broken one is refused and the old policy stays in force', async () => {
    const before = rig.bot.ctx.policy.current.hash;
    await writeFile(policyFile, `${POLICY}  - name: broken\n    when: { vcpus: 1 }\n    auto: true\n`);
    expect(await rig.bot.ctx.policy.reload()).toBe(false);
    expect(rig.bot.ctx.policy.current.hash).toBe(before);
    const approval = await file(rig, 'iso-install', { name: 'still-auto-01' });
    expect(textOf(approval)).toContain('rule *small-auto*');
    // A good change is picked up by the watcher, no signal needed.
    await writeFile(policyFile, (await readFile(policyFile, 'utf8')).replace(/ {2}- name: broken[\s\S]*$/, '').replace('vcpu: 6', 'vcpu: 1'));
    await until(() => rig.bot.ctx.policy.current.hash !== before, 'the reload', 5_000);
    const next = await file(rig, 'iso-install', { name: 'over-now-01' });
    expect(JSON.stringify(next.blocks)).toContain('request_approve');
  });
});
