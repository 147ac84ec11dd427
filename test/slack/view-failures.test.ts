/** When Slack will not open a form, the user is told why in a sentence; nothing else happens. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { startRig, until, type Rig } from '../helpers/bot.js';
import { fileRequest } from '../helpers/flows.js';

describe('a form Slack will not open', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.close());

  const toldTo = (user: string) => until(() => rig.slack.ephemerals.find((e) => e.user === user), `a sentence to ${user}`);

  it('the request form refused by Slack: the requester is told, with the reason', async () => {
    rig.slack.failNext.set('views.open', ['view_too_large']);
    await rig.driver.command(SLACK_SIM.requester, 'web-server');
    const told = await toldTo(SLACK_SIM.requester);
    expect(told.channel).toBe(SLACK_SIM.generalChannel);
    expect(told.text).toBe(
      'I could not open the request form: Slack refused it (`view_too_large`). Nothing was changed; try again, and tell an admin if it keeps happening.',
    );
    expect(rig.slack.openView(SLACK_SIM.requester)).toBeUndefined();
  });

  it('the request form too late for its trigger: the requester is told to try again', async () => {
    await rig.driver.command(SLACK_SIM.requester, '', undefined, { triggerId: 'expired.0' });
    expect((await toldTo(SLACK_SIM.requester)).text).toBe(
      'I could not open the request form: Slack allows 3 seconds to open it and they ran out. Nothing was changed; try again.',
    );
  });

  it('the rejection form refused: the lead is told, and the request stays pending', async () => {
    const approval = await fileRequest(rig, 'reject-form-01');
    rig.slack.failNext.set('views.open', ['ratelimited']);
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_reject');
    expect((await toldTo(SLACK_SIM.lead1)).text).toBe(
      'I could not open the rejection form: Slack is busy right now. Nothing was changed; try again in a few seconds.',
    );
    expect(rig.store.getRequest('REQ-1')?.state).toBe('pending');
  });
});
