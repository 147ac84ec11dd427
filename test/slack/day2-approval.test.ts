/**
 * Day-2 changes under the policy and exactly once, through the real Bolt app and the VergeOS
 * simulator: a big resize goes to a lead with before → after and the exact calls and is applied
 * once when approved; a double submission, a lost answer and a restart mid-change each make one
 * call on the wire; quotas count a VM's new size.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { textOf, until, type Rig } from '../helpers/bot.js';
import { fileRequest } from '../helpers/flows.js';
import { auditLines, makeVm, openForm, startDay2Rig, submitForm, threadReplies, toldSince } from './day2-steps.js';

const OWNER = SLACK_SIM.requester;

describe('day-2 changes under the policy, exactly once', () => {
  let rig: Rig;
  afterEach(() => rig.close());

  it('a big resize needs a lead: before → after and the exact calls in the approval channel; approved, it is one PUT and the message says so', async () => {
    rig = await startDay2Rig();
    const { vm, thread } = await makeVm(rig, 'big-01');
    const form = await openForm(rig, 'resize', vm.runId);
    const mark = rig.slack.ephemerals.length;
    expect(await submitForm(rig, OWNER, form, { cpu_cores: '16' })).toEqual({});
    const ask = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel).find((m) => m.text.startsWith('REQ-2:')), 'the approval message');
    expect(ask.text).toBe('REQ-2: <@U0REQUESTER> asks to change VM big-01: resize: 4 vCPU, 8 GiB RAM → 16 vCPU, 8 GiB RAM');
    const shown = textOf(ask);
    expect(shown).toContain('*Before → after*\\nresize: 4 vCPU, 8 GiB RAM → 16 vCPU, 8 GiB RAM');
    expect(shown).toContain(`\`\`\`PUT /api/v4/vms/${vm.keys.vmKey} {\\"cpu_cores\\":16,\\"ram\\":8192}\`\`\``);
    expect(shown).toContain('rule *big-resize*');
    expect(shown).toContain('request_approve');
    expect(await until(() => toldSince(rig, OWNER, mark)[0], 'the owner told')).toContain("needs a lead's approval (rule big-resize)");
    expect(rig.vergeos.requestsTo('PUT /vms/:key')).toEqual([]);

    await Promise.all([
      rig.driver.clickMessageButton(SLACK_SIM.lead1, ask, 'request_approve'),
      rig.driver.clickMessageButton(SLACK_SIM.lead1, ask, 'request_approve'),
    ]);
    // The request is closed before the observer posts: wait for what it posts, then count.
    await until(() => rig.store.getRequest('REQ-2')?.state === 'succeeded', 'the change applied');
    await until(() => textOf(rig.slack.messages.find((m) => m.ts === ask.ts)!).includes('— change applied'), 'the approval message decided');
    await until(() => rig.slack.dms(OWNER).some((m) => m.text.includes('approved: resize: 4 vCPU, 8 GiB RAM → 16 vCPU, 8 GiB RAM — done')), 'the DM');
    await until(() => threadReplies(rig, thread, 'big-01: resize: 4 vCPU, 8 GiB RAM → 16 vCPU, 8 GiB RAM — done').length > 0, 'the thread');
    await until(
      () => auditLines(rig, '*big-01* changed: resize: 4 vCPU, 8 GiB RAM → 16 vCPU, 8 GiB RAM · asked by <@U0REQUESTER>, approved by <@U0LEAD1>').length > 0,
      'the audit line',
    );
    await rig.bot.idle();
    expect(rig.vergeos.requestsTo('PUT /vms/:key').map((r) => r.body)).toEqual([{ cpu_cores: 16, ram: 8192 }]);
    expect(rig.store.getVm(vm.id)?.spec.vm.cpu_cores).toBe(16);
    expect(threadReplies(rig, thread, 'big-01: resize')).toHaveLength(1);
    expect(auditLines(rig, '*big-01* changed:')).toHaveLength(1);
  });

  it('the same submission delivered twice at once acts once: one PUT, one answer', async () => {
    rig = await startDay2Rig();
    const { vm } = await makeVm(rig, 'twice-01');
    const form = await openForm(rig, 'resize', vm.runId);
    const mark = rig.slack.ephemerals.length;
    const answers = await Promise.all([submitForm(rig, OWNER, form, { cpu_cores: '6' }), submitForm(rig, OWNER, form, { cpu_cores: '6' })]);
    expect(answers).toEqual([{}, {}]);
    await until(() => toldSince(rig, OWNER, mark).length > 0, 'the answer');
    await rig.bot.idle();
    expect(rig.vergeos.requestsTo('PUT /vms/:key')).toHaveLength(1);
    expect(toldSince(rig, OWNER, mark)).toEqual([
      'twice-01: resize: 4 vCPU, 8 GiB RAM → 6 vCPU, 8 GiB RAM — done (restart needed: the new size takes effect at its next power cycle).',
    ]);
    expect(rig.store.getVm(vm.id)?.changes?.map((c) => [c.id, c.status])).toEqual([[form.id, 'done']]);
    // Sent again later (a retried delivery): nothing more is done or said.
    expect(await submitForm(rig, OWNER, form, { cpu_cores: '6' })).toEqual({});
    await rig.bot.idle();
    expect(rig.vergeos.requestsTo('PUT /vms/:key')).toHaveLength(1);
    expect(toldSince(rig, OWNER, mark)).toHaveLength(1);
  });

  it('a lost answer is looked up, not sent again: one PUT (resize) and one POST (snapshot) on the wire, and the thread says done', async () => {
    rig = await startDay2Rig();
    const { vm, thread } = await makeVm(rig, 'lost-01');
    rig.vergeos.faults.add({ route: 'PUT /vms/:key', drop: true, commit: true });
    rig.vergeos.faults.add({ route: 'POST /machine_snapshots', drop: true, commit: true });
    expect(await submitForm(rig, OWNER, await openForm(rig, 'resize', vm.runId), { cpu_cores: '6' })).toEqual({});
    await until(() => rig.store.getVm(vm.id)?.changes?.[0]?.status === 'done', 'the resize');
    expect(rig.vergeos.requestsTo('PUT /vms/:key').map((r) => r.outcome)).toEqual(['dropped']);
    expect(rig.store.getVm(vm.id)?.changes?.[0]?.reconciled).toBe(true);
    const resized = await until(() => threadReplies(rig, thread, 'lost-01: resize: 6 vCPU, 8 GiB RAM — done')[0], 'the thread');
    expect(textOf(resized)).toContain('the bot looked and found it done (nothing was sent twice)');

    expect(await submitForm(rig, OWNER, await openForm(rig, 'snapshot_create', vm.runId), { name: 'before-upgrade' })).toEqual({});
    await until(() => rig.store.getVm(vm.id)?.changes?.[1]?.status === 'done', 'the snapshot');
    expect(rig.vergeos.requestsTo('POST /machine_snapshots').map((r) => r.outcome)).toEqual(['dropped']);
    expect(rig.vergeos.state.table('machine_snapshots').size).toBe(1);
    await until(() => threadReplies(rig, thread, 'lost-01: take snapshot before-upgrade').length === 1, 'the thread');
  });

  it('a change left in flight by a stopped bot is finished at start: looked up, sent once, and shown in the thread', async () => {
    rig = await startDay2Rig();
    const { vm, thread } = await makeVm(rig, 'resume-01');
    // As a bot that stopped mid-call leaves it: saved in flight, one attempt, VergeOS never reached.
    const current = rig.store.getVm(vm.id)!;
    await rig.store.updateVm(vm.id, { version: current.version }, (v) => {
      v.changes = [
        {
          id: 'Vinterrupted',
          change: { action: 'resize', cpu_cores: 6, ram: 8192, restart: false },
          actor: OWNER,
          approval: 'rule small-resize',
          status: 'in_flight',
          attempts: 1,
          at: new Date().toISOString(),
        },
      ];
    });
    await rig.restart();
    await until(() => rig.store.getVm(vm.id)?.changes?.[0]?.status === 'done', 'the change finished');
    await rig.bot.idle();
    expect(rig.vergeos.requestsTo('PUT /vms/:key').map((r) => r.body)).toEqual([{ cpu_cores: 6, ram: 8192 }]);
    expect(rig.vergeos.requestsTo('GET /vms/:key').length).toBeGreaterThan(0);
    expect(threadReplies(rig, thread, 'resume-01: resize: 6 vCPU, 8 GiB RAM — done')).toHaveLength(1);
    expect(auditLines(rig, '*resume-01* changed: resize: 6 vCPU, 8 GiB RAM')).toHaveLength(1);
  });

  it('quotas follow the new size: after a resize to 8 vCPU, another 4-vCPU VM no longer fits a 10-vCPU quota and needs a lead', async () => {
    rig = await startDay2Rig(10);
    const { vm } = await makeVm(rig, 'quota-01');
    expect(rig.store.getRequest('REQ-1')?.policy?.rule).toBe('small-vms');
    expect(await submitForm(rig, OWNER, await openForm(rig, 'resize', vm.runId), { cpu_cores: '8' })).toEqual({});
    await until(() => rig.store.getVm(vm.id)?.changes?.[0]?.status === 'done', 'the resize');
    expect(rig.store.getVm(vm.id)?.changes?.[0]?.approval).toBe('rule small-resize');

    const ask = await fileRequest(rig, 'quota-02');
    const request = rig.store.getRequest('REQ-2')!;
    expect([request.state, request.policy?.rule]).toEqual(['pending', 'default']);
    expect(request.policy?.quota).toEqual(['Quota: 8 of 10 vCPU now; 12 of 10 vCPU with this (over: 12 of 10 vCPU)']);
    expect(textOf(ask)).toContain('request_approve');
  });
});
