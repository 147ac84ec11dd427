/** The Slack stand-in checks what Slack checks. */
import { text } from '../../src/text.js';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_SIM, SLACK_SIM_BOT_TOKEN, startSlackSim, type SlackSim } from '../../src/sim/slack-sim.js';

describe('Slack stand-in', () => {
  let slack: SlackSim;
  beforeEach(async () => {
    slack = await startSlackSim();
  });
  afterEach(() => slack.close());

  const call = async (method: string, args: Record<string, unknown>, token = SLACK_SIM_BOT_TOKEN) => {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(args)) form.set(k, text(v));
    const res = await request(`${slack.apiUrl}${method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    // Each Web API method answers its own fields; the tests read whichever the method returns.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return (await res.body.json()) as { ok: boolean; error?: string } & Record<string, any>;
  };
  const modal = { type: 'modal', title: { type: 'plain_text', text: 'Hi' }, blocks: [] };

  it('checks the bot token and required arguments', async () => {
    expect(await call('auth.test', {}, 'xoxb-wrong')).toEqual({ ok: false, error: 'invalid_auth' });
    expect(await call('chat.postMessage', { text: 'x' })).toEqual({ ok: false, error: 'channel_not_found' });
    expect(await call('chat.postMessage', { channel: SLACK_SIM.approvalChannel })).toEqual({ ok: false, error: 'no_text' });
    expect(await call('chat.update', { channel: SLACK_SIM.approvalChannel, ts: '1.2', text: 'x' })).toEqual({ ok: false, error: 'message_not_found' });
    expect(await call('no.such', {})).toEqual({ ok: false, error: 'unknown_method' });
  });

  it('keeps threads, ephemerals, DMs and permalinks', async () => {
    const parent = await call('chat.postMessage', { channel: SLACK_SIM.approvalChannel, text: 'parent' });
    const reply = await call('chat.postMessage', { channel: SLACK_SIM.approvalChannel, text: 'reply', thread_ts: parent.ts });
    expect(reply.ok).toBe(true);
    expect(await call('chat.postMessage', { channel: SLACK_SIM.approvalChannel, text: 'x', thread_ts: '9.9' })).toEqual({
      ok: false,
      error: 'thread_not_found',
    });
    expect(slack.thread(SLACK_SIM.approvalChannel, parent.ts).map((m) => m.text)).toEqual(['reply']);
    const dm = await call('conversations.open', { users: SLACK_SIM.requester });
    await call('chat.postMessage', { channel: dm.channel.id, text: 'hello' });
    expect(slack.dms(SLACK_SIM.requester).map((m) => m.text)).toEqual(['hello']);
    expect((await call('chat.getPermalink', { channel: SLACK_SIM.approvalChannel, message_ts: parent.ts })).permalink).toMatch(
      /^https:\/\/sim\.slack\.test\/archives\/C0APPROVALS\/p\d+$/,
    );
    expect((await call('usergroups.users.list', { usergroup: SLACK_SIM.leadsGroup })).users).toEqual([SLACK_SIM.lead1, SLACK_SIM.lead2]);
  });

  it('trigger ids work once, for 3 seconds; views are checked against the limits; hashes guard updates', async () => {
    const trigger = slack.issueTrigger(SLACK_SIM.requester);
    const opened = await call('views.open', { trigger_id: trigger, view: modal });
    expect(opened.ok).toBe(true);
    expect(await call('views.open', { trigger_id: trigger, view: modal })).toEqual({ ok: false, error: 'exchanged_trigger_id' });
    expect(await call('views.open', { trigger_id: 'made-up', view: modal })).toEqual({ ok: false, error: 'invalid_trigger_id' });
    expect(
      await call('views.open', {
        trigger_id: slack.issueTrigger(SLACK_SIM.requester),
        view: { ...modal, title: { type: 'plain_text', text: 'A title far too long for Slack' } },
      }),
    ).toEqual({ ok: false, error: 'invalid_arguments' });
    expect(await call('views.update', { view_id: opened.view.id, hash: 'stale', view: modal })).toEqual({ ok: false, error: 'hash_conflict' });
    expect((await call('views.update', { view_id: opened.view.id, hash: opened.view.hash, view: modal })).ok).toBe(true);
    const late = slack.issueTrigger(SLACK_SIM.requester);
    await new Promise((r) => setTimeout(r, 3_100));
    expect(await call('views.open', { trigger_id: late, view: modal })).toEqual({ ok: false, error: 'expired_trigger_id' });
  });
});
