/** The approval gate: who may decide, exactly once, reject with reason, cancel, expiry. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { startRig, textOf, until, type Rig } from '../helpers/bot.js';
import { fileRequest } from '../helpers/flows.js';

describe('approving', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.close());

  it('refuses a bystander and the requester, and changes nothing', async () => {
    const approval = await fileRequest(rig, 'gate-01');
    await rig.driver.clickMessageButton(SLACK_SIM.bystander, approval, 'request_approve');
    await rig.driver.clickMessageButton(SLACK_SIM.requester, approval, 'request_approve');
    await until(() => rig.slack.ephemerals.length >= 2 && rig.slack.ephemerals, 'two refusals');
    expect(rig.slack.ephemerals.find((e) => e.user === SLACK_SIM.bystander)?.text).toBe(
      'Only leads (<!subteam^S0LEADS>) may approve VM requests; nothing was changed.',
    );
    // The requester is told it is their own request, whoever else they are.
    expect(rig.slack.ephemerals.find((e) => e.user === SLACK_SIM.requester)?.text).toBe('You asked for REQ-1, so someone else has to approve it.');
    expect(rig.store.getRequest('REQ-1')?.state).toBe('pending');
    expect(rig.vergeos.requestsTo('POST /vms')).toHaveLength(0);
    expect(JSON.stringify(rig.slack.messages.find((m) => m.ts === approval.ts)!.blocks)).toContain('request_approve');
  });

  it('a lead who asked for it may not approve their own request', async () => {
    await rig.driver.command(SLACK_SIM.lead1, 'web-server');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.lead1), 'modal');
    await rig.driver.submit(SLACK_SIM.lead1, modal, { name: 'own-01' });
    const approval = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'approval');
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    const refusal = await until(() => rig.slack.ephemerals.find((e) => e.user === SLACK_SIM.lead1), 'refusal');
    expect(refusal.text).toBe('You asked for REQ-1, so someone else has to approve it.');
    expect(rig.store.getRequest('REQ-1')?.state).toBe('pending');
  });

  it('two leads at once, and a double click, start exactly one run', async () => {
    const approval = await fileRequest(rig, 'race-01');
    await Promise.all([
      rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve'),
      rig.driver.clickMessageButton(SLACK_SIM.lead2, approval, 'request_approve'),
      rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve'),
    ]);
    await until(() => rig.store.getRequest('REQ-1')?.state === 'succeeded', 'the run to finish');
    await rig.bot.idle();
    expect(rig.vergeos.requestsTo('POST /vms')).toHaveLength(1);
    expect(rig.store.listRuns()).toHaveLength(1);
    const refusals = await until(
      () =>
        rig.slack.ephemerals.filter((e) => e.text.includes('already approved')).length === 2 &&
        rig.slack.ephemerals.filter((e) => e.text.includes('already approved')),
      'two refusals',
    );
    expect(refusals).toHaveLength(2);
    expect(refusals[0]!.text).toMatch(/^REQ-1 was already approved by <@U0LEAD[12]>; nothing was changed\.$/);
  });

  it('a click that arrives before the bot recorded where its approval message is still updates that message', async () => {
    const approval = await fileRequest(rig, 'race-msg-01');
    // As if the lead clicked between the post and the bot saving the message's place.
    await rig.store.updateRequest('REQ-1', {}, (r) => void delete r.approvalMessage);
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await until(() => rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts).find((m) => m.text.includes('is ready')), 'the summary in the thread');
    await rig.bot.idle();
    expect(rig.store.getRequest('REQ-1')?.approvalMessage).toEqual({ channel: SLACK_SIM.approvalChannel, ts: approval.ts });
    expect(textOf(rig.slack.messages.find((m) => m.ts === approval.ts)!)).toContain(`Approved by <@${SLACK_SIM.lead1}>`);
  });

  it('reject asks for a reason; the requester is told; buttons go', async () => {
    const approval = structuredClone(await fileRequest(rig, 'nope-01'));
    await rig.driver.clickMessageButton(SLACK_SIM.lead2, approval, 'request_reject');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.lead2), 'reject modal');
    const tooShort = await rig.driver.submit(SLACK_SIM.lead2, modal, { reason: 'no' });
    expect(tooShort.json).toEqual({ response_action: 'errors', errors: { reason: 'Say why, so the requester can do something about it.' } });
    await rig.driver.submit(SLACK_SIM.lead2, modal, { reason: 'Use the shared staging VM <!channel>' });
    await until(() => rig.store.getRequest('REQ-1')?.state === 'rejected', 'rejection');
    await rig.bot.idle();
    const decided = await until(() => rig.slack.messages.find((m) => m.ts === approval.ts && m.edited), 'the decided message');
    expect(JSON.stringify(decided.blocks)).not.toContain('request_approve');
    expect(textOf(decided)).toContain('Rejected by <@U0LEAD2>');
    expect(textOf(decided)).toContain('&lt;!channel&gt;');
    expect(textOf(decided)).not.toContain('<!channel>');
    const told = await until(() => rig.slack.dms(SLACK_SIM.requester).find((m) => m.text.includes('rejected')), 'the requester DM');
    expect(told.text).toMatch(/was rejected by <@U0LEAD2>: Use the shared staging VM &lt;!channel&gt;/);
    const line = await until(() => rig.slack.channelMessages(SLACK_SIM.auditChannel)[0], 'the audit line');
    expect(line.text).toMatch(/nope-01\* rejected \(Use the shared staging VM &lt;!channel&gt;\)/);
    // Approving after the rejection does nothing.
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await until(() => rig.slack.ephemerals.find((e) => e.user === SLACK_SIM.lead1), 'refusal');
    expect(rig.vergeos.requestsTo('POST /vms')).toHaveLength(0);
  });

  it('the requester can cancel while pending; nobody else can', async () => {
    const approval = await fileRequest(rig, 'cancel-01');
    const receipt = await until(() => rig.slack.dms(SLACK_SIM.requester)[0], 'the receipt DM');
    await rig.driver.clickMessageButton(SLACK_SIM.bystander, receipt, 'request_cancel');
    await until(() => rig.slack.ephemerals.length, 'refusal');
    // Someone who may not see the request learns nothing of it, not even who asked.
    expect(rig.slack.ephemerals[0]!.text).toBe('There is no request REQ-1.');
    await rig.driver.clickMessageButton(SLACK_SIM.requester, receipt, 'request_cancel');
    await until(() => rig.store.getRequest('REQ-1')?.state === 'cancelled', 'cancel');
    await until(() => textOf(rig.slack.messages.find((m) => m.ts === approval.ts)!).includes('Cancelled by the requester'), 'the approval message to say so');
    await until(
      () => !JSON.stringify(rig.slack.messages.find((m) => m.ts === receipt.ts)!.blocks).includes('request_cancel'),
      'the receipt to lose its Cancel button',
    );
    await until(() => rig.slack.channelMessages(SLACK_SIM.auditChannel)[0]?.text.includes('cancel-01* cancelled'), 'the audit line');
  });
});

describe('expiry', () => {
  it('expires pending requests after VM_REQUEST_TTL, across a restart', async () => {
    const rig = await startRig({ env: { VM_REQUEST_TTL: '1s' } });
    try {
      const approval = structuredClone(await fileRequest(rig, 'late-01')); // as a stale client still shows it
      await rig.restart();
      await new Promise((r) => setTimeout(r, 1_100));
      await rig.bot.sweep();
      await rig.bot.idle();
      expect(rig.store.getRequest('REQ-1')?.state).toBe('expired');
      const decided = rig.slack.messages.find((m) => m.ts === approval.ts)!;
      expect(JSON.stringify(decided.blocks)).not.toContain('request_approve');
      expect(textOf(decided)).toContain('Expired');
      await until(() => rig.slack.dms(SLACK_SIM.requester).find((m) => m.text.includes('expired: no lead decided in time')), 'the requester DM');
      expect(
        rig.slack
          .channelMessages(SLACK_SIM.auditChannel)
          .map((m) => m.text)
          .join(),
      ).toContain('late-01* expired without a decision');
      await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
      const refusal = await until(() => rig.slack.ephemerals.find((e) => e.user === SLACK_SIM.lead1), 'refusal');
      expect(refusal.text).toBe('REQ-1 expired before anyone decided; nothing was changed.');
    } finally {
      await rig.close();
    }
  });
});

describe('archived requests', () => {
  it('/vm-create status still finds a decided request after it moved to the archive', async () => {
    const rig = await startRig({ env: { VMBOT_ARCHIVE_AFTER: '1ms' } });
    try {
      const approval = await fileRequest(rig, 'old-01');
      await rig.driver.clickMessageButton(SLACK_SIM.requester, await until(() => rig.slack.dms(SLACK_SIM.requester)[0], 'receipt'), 'request_cancel');
      await until(() => rig.store.getRequest('REQ-1')?.state === 'cancelled', 'cancel');
      expect(approval.text).toContain('REQ-1');
      await rig.restart();
      expect(rig.store.getRequest('REQ-1')).toBeUndefined(); // archived at start
      const status = await rig.driver.command(SLACK_SIM.requester, 'status REQ-1');
      expect(JSON.stringify(status.json)).toContain('old-01');
      expect(JSON.stringify(status.json)).toContain('cancelled');
    } finally {
      await rig.close();
    }
  });

  it('a running bot archives on its schedule, without a restart', async () => {
    const rig = await startRig({ env: { VMBOT_ARCHIVE_AFTER: '1ms' }, archiveEveryMs: 50 });
    try {
      await fileRequest(rig, 'old-02');
      await rig.driver.clickMessageButton(SLACK_SIM.requester, await until(() => rig.slack.dms(SLACK_SIM.requester)[0], 'receipt'), 'request_cancel');
      await until(() => rig.store.getRequest('REQ-1') === undefined, 'archived while running', 5_000);
      expect((await rig.store.readArchived('requests')).map((r) => [r.id, r.state])).toEqual([['REQ-1', 'cancelled']]);
      const status = await rig.driver.command(SLACK_SIM.requester, 'status REQ-1');
      expect(JSON.stringify(status.json)).toContain('old-02');
    } finally {
      await rig.close();
    }
  });
});
