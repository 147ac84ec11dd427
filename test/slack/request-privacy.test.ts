/**
 * Who sees a request: its requester, its approvers (those who may decide it under the policy) and
 * the leads. Anyone else gets the very answer a request that does not exist gets, from
 * `/vm-create status` and from forged buttons alike. An auto-approved request names its rule.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { startRig, until, type Rig } from '../helpers/bot.js';
import { fileRequest } from '../helpers/flows.js';

const status = async (rig: Rig, user: string, id: string): Promise<string> => JSON.stringify((await rig.driver.command(user, `status ${id}`)).json);

/** The lead rejects with a reason through the rejection form. */
async function reject(rig: Rig, approval: Parameters<Rig['driver']['clickMessageButton']>[1], reason: string): Promise<void> {
  await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_reject');
  const form = await until(() => rig.slack.openView(SLACK_SIM.lead1), 'the rejection form');
  await rig.driver.submit(SLACK_SIM.lead1, form, { reason });
  await until(() => rig.store.getRequest('REQ-1')?.state === 'rejected', 'the rejection');
}

describe('who sees a request', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.close());

  it('status: the requester and a lead see it, reason included; a bystander gets exactly the answer for a request that does not exist', async () => {
    const approval = await fileRequest(rig, 'private-01');
    await reject(rig, approval, 'the staging VM already does this');
    const mine = await status(rig, SLACK_SIM.requester, 'REQ-1');
    expect(mine).toContain('private-01');
    expect(mine).toContain('the staging VM already does this');
    const lead = await status(rig, SLACK_SIM.lead2, 'REQ-1');
    expect(lead).toContain('private-01');
    expect(lead).toContain('decided by <@U0LEAD1>');

    const refused = await status(rig, SLACK_SIM.bystander, 'REQ-1');
    const missing = await status(rig, SLACK_SIM.bystander, 'REQ-2');
    expect(refused).toContain('There is no request REQ-1.');
    expect(refused.replaceAll('REQ-1', 'REQ-n')).toBe(missing.replaceAll('REQ-2', 'REQ-n'));
    expect(refused).not.toContain('private-01');
    expect(refused).not.toContain('staging');
  });

  it('a forged Approve, Reject or Cancel from someone who may not see the request is answered as for a missing one', async () => {
    const approval = await fileRequest(rig, 'private-02');
    const receipt = await until(() => rig.slack.dms(SLACK_SIM.requester)[0], 'the receipt DM');
    // Not the approval message: a button value typed by hand, sent from another channel.
    const elsewhere = { ...approval, channel: SLACK_SIM.generalChannel, ts: '1.000001' };
    await rig.driver.clickMessageButton(SLACK_SIM.bystander, elsewhere, 'request_approve');
    await rig.driver.clickMessageButton(SLACK_SIM.bystander, elsewhere, 'request_reject');
    await rig.driver.clickMessageButton(SLACK_SIM.bystander, receipt, 'request_cancel');
    const answers = () => rig.slack.ephemerals.filter((e) => e.user === SLACK_SIM.bystander).map((e) => e.text);
    const told = await until(() => answers().length >= 3 && answers(), 'three answers');
    expect(told).toEqual(['There is no request REQ-1.', 'There is no request REQ-1.', 'There is no request REQ-1.']);
    expect(rig.slack.callsTo('views.open').filter((c) => c.args.view && JSON.stringify(c.args.view).includes('vm_reject'))).toHaveLength(0);
    expect(rig.store.getRequest('REQ-1')?.state).toBe('pending');
    // Clicking the approval message itself (which they can read in the channel) is refused as before.
    await rig.driver.clickMessageButton(SLACK_SIM.bystander, approval, 'request_approve');
    await until(() => rig.slack.ephemerals.find((e) => e.user === SLACK_SIM.bystander && e.text.startsWith('Only leads')), 'the usual refusal');
  });
});

const POLICY = `version: 1
groups:
  reviewers: [U0REVIEWER]
rules:
  - name: small-auto
    when: { vcpu: { max: 2 }, devices: none }
    auto: true
  - name: reviewed
    when: { cluster: ["1"] }
    approve: { count: 1, from: ["@reviewers"] }
`;

describe('who sees a request, under a policy', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig({ policy: POLICY });
    rig.slack.addMembers(['U0REVIEWER']);
  });
  afterEach(() => rig.close());

  it("the policy's approvers see a request they may decide; others do not", async () => {
    await fileRequest(rig, 'reviewed-01');
    expect(rig.store.getRequest('REQ-1')?.policy?.rule).toBe('reviewed');
    expect(await status(rig, 'U0REVIEWER', 'REQ-1')).toContain('reviewed-01');
    expect(await status(rig, SLACK_SIM.bystander, 'REQ-1')).toContain('There is no request REQ-1.');
  });

  it('an auto-approved request names its rule as who decided, not a broken mention', async () => {
    await fileRequest(rig, 'auto-01', 'iso-install');
    await until(() => rig.store.getRequest('REQ-1')?.state === 'succeeded', 'provisioned without a click', 15_000);
    const shown = await status(rig, SLACK_SIM.requester, 'REQ-1');
    expect(shown).toContain('decided by rule small-auto');
    expect(shown).not.toContain('<@policy:');
  });
});
