/** The notifier against the stand-in enforcing Slack's limits: coalesced edits, 429 handling in order. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Notifier } from '../../src/slack/notifier.js';
import { pacingFor, SLACK_RATE_LIMITS, TokenBucket } from '../../src/slack/rate-limits.js';
import { SlackWebApi } from '../../src/slack/web-api.js';
import { SLACK_SIM, SLACK_SIM_BOT_TOKEN, startSlackSim, type SlackSim } from '../../src/sim/slack-sim.js';

const text = (t: string) => ({ text: t, blocks: [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: t } }] });

describe('notifier', () => {
  let slack: SlackSim;
  let api: SlackWebApi;
  beforeEach(async () => {
    slack = await startSlackSim();
    api = new SlackWebApi({ token: SLACK_SIM_BOT_TOKEN, baseUrl: slack.apiUrl, retries: 0 });
  });
  afterEach(async () => {
    await api.close();
    await slack.close();
  });

  it('coalesces edits: 30 quick edits of one message send the first and the last, and every caller hears it went', async () => {
    const notifier = new Notifier(api);
    const ref = (await notifier.post(SLACK_SIM.approvalChannel, text('v0')))!;
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => notifier.update(ref, text(`v${i + 1}`))));
    expect(results.every(Boolean)).toBe(true);
    const edits = slack.callsTo('chat.update');
    expect(edits.map((c) => c.args.text)).toEqual(['v1', 'v30']);
    expect(slack.messages.find((m) => m.ts === ref.ts)!.text).toBe('v30');
    expect(slack.rateLimited()).toEqual([]);
  });

  it("paces posts in one channel at Slack's rate, with a burst, and never gets a 429", async () => {
    await slack.close();
    slack = await startSlackSim({ rateFactor: 10 });
    const fast = new SlackWebApi({ token: SLACK_SIM_BOT_TOKEN, baseUrl: slack.apiUrl, retries: 0 });
    const paced = new Notifier(fast, { rateFactor: 10 });
    const posts = Array.from({ length: 12 }, (_, i) => paced.post(SLACK_SIM.approvalChannel, text(`m${i}`)));
    // Queued after all twelve, a post to another channel is not held up by their queue (per-channel buckets).
    const elsewhere = paced.post(SLACK_SIM.auditChannel, text('other channel'));
    const refs = await Promise.all(posts);
    expect(refs.every(Boolean)).toBe(true);
    expect(slack.channelMessages(SLACK_SIM.approvalChannel).map((m) => m.text)).toEqual(Array.from({ length: 12 }, (_, i) => `m${i}`));
    expect(slack.calls.findIndex((c) => c.args.text === 'other channel')).toBeLessThan(slack.calls.findIndex((c) => c.args.text === 'm5'));
    await elsewhere;
    expect(slack.rateLimited()).toEqual([]);
    await fast.close();
  });

  it('on a 429 it waits the Retry-After and sends again, keeping the order', async () => {
    // A bot pacing 50× too fast for the stand-in: it must still deliver everything, in order.
    const reckless = new Notifier(api, { rateFactor: 50 });
    const refs = await Promise.all(Array.from({ length: 5 }, (_, i) => reckless.post(SLACK_SIM.auditChannel, text(`line ${i}`))));
    expect(refs.every(Boolean)).toBe(true);
    expect(slack.channelMessages(SLACK_SIM.auditChannel).map((m) => m.text)).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
    expect(slack.rateLimited().length).toBeGreaterThan(0);
  });

  it('paces every method it calls a little under what the stand-in enforces', () => {
    for (const [method, limit] of Object.entries(SLACK_RATE_LIMITS)) {
      const pace = pacingFor(method)!;
      expect(pace.perSecond).toBeLessThan(limit.perMinute / 60);
      expect(pace.burst).toBeLessThan(limit.burst);
    }
    let now = 0;
    const bucket = new TokenBucket(1, 2, () => now);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, false]);
    expect(bucket.waitMs()).toBe(1_000);
    now = 1_000;
    expect(bucket.tryTake()).toBe(true);
    bucket.block(5_000);
    now = 10_000;
    expect(bucket.waitMs()).toBe(0);
  });
});
