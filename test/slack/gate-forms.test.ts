/**
 * The requester gate routes a form's submission by its callback_id, through the real Bolt app
 * over signed HTTP: the reject-reason form reaches its own listener untouched (who may reject is
 * checked there), and a form the gate does not know is checked as a requester's without being
 * read as the request form.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { readAuditRecords, type AuditRecord } from '../../src/store/audit.js';
import { startRig, until, type Rig } from '../helpers/bot.js';
import { fileRequest } from '../helpers/flows.js';

const GUEST_REFUSAL = "Guests can't request VMs in this workspace. Ask a full member of your team to request one for you.";

async function auditOf(rig: Rig): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for await (const r of readAuditRecords(rig.audit.file)) records.push(r);
  return records;
}

describe('form submissions at the gate, by callback_id', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.close());

  it('the reject-reason form passes the gate untouched: a guest’s submission reaches its listener, which refuses it; a lead’s rejects', async () => {
    const approval = await fileRequest(rig, 'forms-01');
    await rig.driver.clickMessageButton(SLACK_SIM.lead2, approval, 'request_reject');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.lead2), 'the reject form');
    expect(modal.view.callback_id).toBe('vm_reject');

    // A guest would be refused as a requester (errors under a field, an audit record); here the form's own listener answers.
    const byGuest = await rig.driver.submit(SLACK_SIM.guest, modal, { reason: 'not my call to make' });
    expect(byGuest.status).toBe(200);
    expect(byGuest.body).toBe('');
    const told = await until(() => rig.slack.dms(SLACK_SIM.guest)[0], 'the listener’s answer to the guest');
    expect(told.text).toBe('There is no request REQ-1.');
    expect(rig.store.getRequest('REQ-1')?.state).toBe('pending');
    expect((await auditOf(rig)).filter((r) => r.action === 'request.refused_requester')).toEqual([]);

    // The listener still checks its own field before anything else.
    const tooShort = await rig.driver.submit(SLACK_SIM.lead2, modal, { reason: 'no' });
    expect(tooShort.json).toEqual({ response_action: 'errors', errors: { reason: 'Say why, so the requester can do something about it.' } });
    await rig.driver.submit(SLACK_SIM.lead2, modal, { reason: 'Use the shared staging VM' });
    await until(() => rig.store.getRequest('REQ-1')?.state === 'rejected', 'the rejection');
    expect(rig.store.getRequest('REQ-1')).toMatchObject({ decidedBy: SLACK_SIM.lead2, reason: 'Use the shared staging VM' });
  });

  it('a form the gate does not know is checked as a requester’s, and its refusal is not put under the request form’s fields', async () => {
    await rig.driver.command(SLACK_SIM.requester, 'web-server');
    const requestForm = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the request form');
    const unknown = { ...requestForm, view: { ...requestForm.view, callback_id: 'vm_something_else' } };

    const refused = await rig.driver.submit(SLACK_SIM.guest, unknown, { name: 'odd-01' });
    expect(refused.status).toBe(200);
    // The form closes (no `name.0` error: nothing here is read as the request form); the sentence comes as a DM.
    expect(refused.body).toBe('');
    const told = await until(() => rig.slack.dms(SLACK_SIM.guest)[0], 'the refusal DM');
    expect(told.text).toBe(GUEST_REFUSAL);
    const refusals = (await auditOf(rig)).filter((r) => r.action === 'request.refused_requester');
    expect(refusals.map((r) => [r.actor, r.detail?.split(':')[0]])).toEqual([[SLACK_SIM.guest, 'guest at submission']]);

    // The request form itself still gets the refusal under its name field.
    const forged = await rig.driver.submit(SLACK_SIM.guest, requestForm, { name: 'odd-02' });
    expect(forged.json).toEqual({ response_action: 'errors', errors: { 'name.0': GUEST_REFUSAL } });
    expect(rig.store.listRequests()).toEqual([]);
  });
});
