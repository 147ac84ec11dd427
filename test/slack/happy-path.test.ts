/** /vm-create → modal → submit → approval → provisioning in the thread → summary and audit line. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { verifyAuditLog } from '../../src/store/audit.js';
import { startRig, textOf, until, type Rig } from '../helpers/bot.js';

describe('the Slack flow, end to end over signed HTTP', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.close());

  it('request from a recipe, lead approves, the VM is built with every key in the thread', async () => {
    const { driver, slack, vergeos } = rig;
    const cmd = await driver.command(SLACK_SIM.requester, 'web-server');
    expect(cmd.status).toBe(200);
    const modal = await until(() => slack.openView(SLACK_SIM.requester), 'the request modal');
    expect(modal.view.title).toEqual({ type: 'plain_text', text: 'Request a VM', emoji: true });

    const submitted = await driver.submit(SLACK_SIM.requester, modal, { name: 'web-01' });
    expect(submitted.status).toBe(200);
    expect(submitted.body).toBe('');
    const approval = await until(() => slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'the approval message');
    expect(approval.text).toContain('REQ-1');
    expect(textOf(approval)).toContain('POST /api/v4/machine_drives');
    expect(textOf(approval)).toContain(`<@${SLACK_SIM.requester}>`);
    const receipt = await until(() => slack.dms(SLACK_SIM.requester)[0], 'the requester receipt');
    expect(textOf(receipt)).toContain('https://sim.slack.test/archives/C0APPROVALS/');
    expect(textOf(receipt)).toContain('request_cancel');

    await driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    const summary = await until(() => slack.thread(SLACK_SIM.approvalChannel, approval.ts).find((m) => m.text.includes('is ready')), 'the summary', 15_000);
    await rig.bot.idle();

    const vm = [...vergeos.state.table('vms').values()].find((v) => v.name === 'web-01')!;
    const drive = [...vergeos.state.table('machine_drives').values()].find((d) => String(d.machine) === String(vm.machine))!;
    const nic = [...vergeos.state.table('machine_nics').values()].find((n) => String(n.machine) === String(vm.machine))!;
    const thread = slack.thread(SLACK_SIM.approvalChannel, approval.ts).map(textOf).join('\n');
    for (const key of [`VM key *${String(vm.$key)}*`, `machine key *${String(vm.machine)}*`, `*${String(drive.$key)}*`, `*${String(nic.$key)}*`])
      expect(thread).toContain(key);
    expect(textOf(summary)).toContain('power: on');
    // The thread says little: the progress message (edited to its last state) and the summary.
    const [progress, ...rest] = slack.thread(SLACK_SIM.approvalChannel, approval.ts);
    expect(rest).toEqual([summary]);
    expect(progress!.text).toBe('Provisioning web-01: finished');
    expect(textOf(progress!).match(/:white_check_mark: \d\/4/g)).toEqual([
      ':white_check_mark: 1/4',
      ':white_check_mark: 2/4',
      ':white_check_mark: 3/4',
      ':white_check_mark: 4/4',
    ]);

    // The approval message lost its buttons and says who approved.
    const decided = slack.messages.find((m) => m.ts === approval.ts)!;
    expect(JSON.stringify(decided.blocks)).not.toContain('request_approve');
    expect(textOf(decided)).toContain(`Approved by <@${SLACK_SIM.lead1}>`);
    // The audit channel got one line with name, keys, requester, approver, size and a permalink.
    const auditLines = slack.channelMessages(SLACK_SIM.auditChannel);
    expect(auditLines).toHaveLength(1);
    expect(auditLines[0]!.text).toMatch(
      new RegExp(
        `web-01\\* provisioned · VM key ${String(vm.$key)} / machine key ${String(vm.machine)} · 4 vCPU, 8 GiB RAM.* · requested by <@U0REQUESTER>, approved by <@U0LEAD1> · <https://sim\\.slack\\.test/archives/C0APPROVALS/p\\d+\\|REQ-1>`,
      ),
    );
    expect(
      slack
        .dms(SLACK_SIM.requester)
        .map((m) => m.text)
        .join('\n'),
    ).toContain(`is ready: VM key ${String(vm.$key)}, machine key ${String(vm.machine)}`);
    // Every transition is in the audit log, and the chain holds.
    const log = await verifyAuditLog(rig.audit.file);
    expect(log.ok).toBe(true);
    expect(rig.store.getRequest('REQ-1')?.state).toBe('succeeded');
  });

  it('a reply only where it adds something: drives still importing after a while', async () => {
    await rig.close();
    rig = await startRig({ vergeos: { timing: { importMs: 600, startMs: 0, stopMs: 0 } }, importNoticeMs: 100 });
    await rig.driver.command(SLACK_SIM.requester, 'cloud-image');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the request modal');
    expect((await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'slow-import-01' })).body).toBe('');
    const approval = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'the approval message');
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await until(() => rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts).find((m) => m.text.includes('is ready')), 'the summary', 15_000);
    await rig.bot.idle();
    const thread = rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts).map((m) => m.text);
    expect(thread).toHaveLength(3);
    expect(thread[1]).toMatch(/^:hourglass_flowing_down: .*drives are still importing after 0.1 s; power-on follows as soon as they are done\.$/);
  });
});
