/** Who may ask (VM_REQUESTERS, no guests, no other organizations), what the refused see, and how much one person may ask. */
import { afterEach, describe, expect, it } from 'vitest';
import { AUDIT_FILE, readAuditRecords } from '../../src/store/audit.js';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { startRig, until, type Rig } from '../helpers/bot.js';
import { join } from 'node:path';

const REFUSED = {
  [SLACK_SIM.guest]: "Guests can't request VMs in this workspace. Ask a full member of your team to request one for you.",
  [SLACK_SIM.singleChannelGuest]: "Guests can't request VMs in this workspace. Ask a full member of your team to request one for you.",
  [SLACK_SIM.external]: "People from other organizations can't request VMs here: this bot serves members of Sim only.",
  [SLACK_SIM.bystander]: "You're not on the list of people who may request VMs (VM_REQUESTERS). Ask a lead to add you, or a group you are in.",
};

async function refusals(rig: Rig): Promise<Array<{ actor: string; detail: string }>> {
  const out: Array<{ actor: string; detail: string }> = [];
  for await (const r of readAuditRecords(join(rig.dir, 'data', AUDIT_FILE)))
    if (r.action === 'request.refused_requester') out.push({ actor: r.actor, detail: r.detail ?? '' });
  return out;
}

describe('who may request', () => {
  let rig: Rig;
  afterEach(() => rig.close());

  it('guests, an external user and someone not listed are refused at the command, the options and a forged submission; a group member and a lead are not', async () => {
    rig = await startRig({ env: { VM_REQUESTERS: SLACK_SIM.devsGroup } });
    // The requester is in S0DEVS: the modal opens.
    await rig.driver.command(SLACK_SIM.requester, 'gpu-workstation');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');

    for (const [user, message] of Object.entries(REFUSED)) {
      const command = await rig.driver.command(user, 'web-server');
      expect(command.json).toEqual({ response_type: 'ephemeral', text: message });
      // Nothing to see: the options lists are empty, whichever list.
      for (const field of ['cluster', 'device_group_3', 'drive_source_0']) expect((await rig.driver.options(user, modal, field)).json).toEqual({ options: [] });
      // A submission of a real view (the requester's) by someone refused files nothing.
      const forged = await rig.driver.submit(user, modal, { name: `forged-${user.toLowerCase()}` });
      expect(forged.json).toEqual({ response_action: 'errors', errors: { 'name.0': message } });
    }
    expect(rig.store.listRequests()).toEqual([]);
    // No modal opened for anyone refused, and nothing from VergeOS reached them.
    expect(rig.slack.callsTo('views.open')).toHaveLength(1);
    for (const user of Object.keys(REFUSED)) {
      expect(rig.slack.openView(user)).toBeUndefined();
      expect(JSON.stringify(rig.slack.dms(user))).not.toMatch(/NVIDIA|Cluster1|Dev-Internal|ubuntu/);
    }
    // Every refusal is in the audit log: who, where, why.
    const logged = await refusals(rig);
    expect(logged).toHaveLength(4 * 5);
    expect(logged.filter((r) => r.actor === SLACK_SIM.external).map((r) => r.detail.split(':')[0])).toEqual([
      'external at command',
      'external at options',
      'external at options',
      'external at options',
      'external at submission',
    ]);

    // The listed group member files; a lead not in VM_REQUESTERS may too.
    expect((await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'gpu-devs-01' })).body).toBe('');
    await rig.driver.command(SLACK_SIM.lead2, 'web-server');
    const leadModal = await until(() => rig.slack.openView(SLACK_SIM.lead2), 'the lead’s modal');
    expect((await rig.driver.submit(SLACK_SIM.lead2, leadModal, { name: 'lead-own-01' })).body).toBe('');
    await until(() => rig.store.listRequests().length === 2, 'two requests');
  });

  it('App Home and VM buttons: the refused get a sentence, not the listener', async () => {
    rig = await startRig();
    await rig.driver.appHomeOpened(SLACK_SIM.guest);
    const home = await until(() => rig.slack.openView(SLACK_SIM.guest, 'home'), 'the guest’s home');
    expect(JSON.stringify(home.view.blocks)).toBe(JSON.stringify([{ type: 'section', text: { type: 'mrkdwn', text: REFUSED[SLACK_SIM.guest] } }]));
    const reply = await rig.driver.sendPayload({
      type: 'block_actions',
      user: { id: SLACK_SIM.external, team_id: SLACK_SIM.otherTeam },
      team: { id: SLACK_SIM.team },
      trigger_id: await rig.driver.triggers.issueTrigger(SLACK_SIM.external),
      container: { type: 'message', channel_id: 'D0EXTERNAL', message_ts: '1.0' },
      actions: [{ type: 'button', action_id: 'vm_power_off', block_id: 'vm.run-1', value: 'run-1', action_ts: '1.0' }],
    });
    expect(reply.status).toBe(200);
    await until(() => rig.slack.dms(SLACK_SIM.external)[0], 'the refusal DM');
    expect(rig.slack.dms(SLACK_SIM.external).map((m) => m.text)).toEqual([REFUSED[SLACK_SIM.external]]);
    expect((await refusals(rig)).map((r) => r.detail.split(':')[0])).toEqual(['guest at app_home', 'external at button']);
  });
});

describe('how much one person may ask', () => {
  let rig: Rig;
  afterEach(() => rig.close());

  const file = async (user: string, name: string) => {
    const before = rig.slack.callsTo('views.open').length;
    await rig.driver.command(user, 'web-server');
    await until(() => rig.slack.callsTo('views.open').length > before && rig.slack.openView(user), 'the modal');
    return rig.driver.submit(user, rig.slack.openView(user)!, { name });
  };

  it('at most N waiting for a decision, explained with when; leads are not limited', async () => {
    rig = await startRig({ env: { VM_MAX_PENDING_PER_USER: '2' } });
    expect((await file(SLACK_SIM.requester, 'cap-01')).body).toBe('');
    expect((await file(SLACK_SIM.requester, 'cap-02')).body).toBe('');
    const third = (await file(SLACK_SIM.requester, 'cap-03')).json as { errors: Record<string, string> };
    expect(third.errors['name.0']).toMatch(
      /^You have 2 requests waiting for a decision \(REQ-1, REQ-2\), the most one person may have at once \(2\)\. Cancel one \(`\/vm-create list`\) or wait for a lead; the first expires at \d\d:\d\d UTC if nobody decides\.$/,
    );
    expect(rig.store.listRequests().map((r) => r.id)).toEqual(['REQ-1', 'REQ-2']);
    for (const name of ['lead-01', 'lead-02', 'lead-03']) expect((await file(SLACK_SIM.lead1, name)).body).toBe('');
  });

  it('at most N filed an hour, explained with the time to try again', async () => {
    rig = await startRig({ env: { VM_SUBMISSIONS_PER_HOUR: '3' } });
    for (const name of ['hour-01', 'hour-02', 'hour-03']) expect((await file(SLACK_SIM.requester, name)).body).toBe('');
    const fourth = (await file(SLACK_SIM.requester, 'hour-04')).json as { errors: Record<string, string> };
    expect(fourth.errors['name.0']).toMatch(
      /^You filed 3 requests in the last hour, the most allowed \(3 an hour\)\. You can file again at \d\d:\d\d UTC \(in 60 min\)\.$/,
    );
    expect(rig.store.listRequests()).toHaveLength(3);
  });
});
