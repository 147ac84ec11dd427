/** Signed requests dated more than 5 minutes ahead are refused like stale ones (Bolt refuses only those). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log.js';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { refuseFutureTimestamp } from '../../src/slack/request-timestamps.js';
import { startRig, until, type Rig } from '../helpers/bot.js';

const now = () => Math.floor(Date.now() / 1000);

describe('request timestamps', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.close());

  it('refuses correctly signed requests dated 6 minutes, 2 hours or a year ahead with 401, and nothing happens', async () => {
    for (const ahead of [6 * 60, 2 * 3600, 365 * 86_400]) {
      const reply = await rig.driver.command(SLACK_SIM.requester, 'web-server', undefined, { timestamp: now() + ahead });
      expect(reply.status, `${ahead} s ahead`).toBe(401);
      expect(reply.body).toBe('');
    }
    // A request dated now goes through after them: once its modal is open, anything the refused
    // ones had started would have shown too (no waiting on the wall clock).
    expect((await rig.driver.command(SLACK_SIM.requester, 'web-server')).status).toBe(200);
    await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal of the request dated now');
    expect(rig.slack.callsTo('views.open')).toHaveLength(1);
    expect(rig.store.listRequests()).toEqual([]);
  });

  it('accepts one 4 minutes ahead (clocks drift), and still refuses a bad signature or a stale one', async () => {
    const ahead = await rig.driver.command(SLACK_SIM.requester, 'web-server', undefined, { timestamp: now() + 4 * 60 });
    expect(ahead.status).toBe(200);
    await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');
    expect((await rig.driver.command(SLACK_SIM.requester, 'help', undefined, { timestamp: now() + 60, signature: 'v0=deadbeef' })).status).toBe(401);
    expect((await rig.driver.command(SLACK_SIM.requester, 'help', undefined, { timestamp: now() - 6 * 60 })).status).toBe(401);
  });
});

describe('refuseFutureTimestamp', () => {
  const fake = (headers: Record<string, string>) => {
    const warnings: Array<{ fields: object; message: string }> = [];
    const logger = { warn: (fields: object, message: string) => warnings.push({ fields, message }) } as unknown as Logger;
    const written: number[] = [];
    const res = { writeHead: (status: number) => (written.push(status), res), end: () => res } as unknown as ServerResponse;
    const req = { url: '/slack/events', headers } as unknown as IncomingMessage;
    return { req, res, logger, warnings, written };
  };

  it('logs a warning naming how far ahead, and never the signature', () => {
    const { req, res, logger, warnings, written } = fake({ 'x-slack-request-timestamp': String(now() + 7200), 'x-slack-signature': 'v0=secretish' });
    expect(refuseFutureTimestamp(req, res, logger)).toBe(true);
    expect(written).toEqual([401]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toBe('refused a Slack request dated in the future');
    expect(JSON.stringify(warnings[0])).not.toContain('secretish');
    expect((warnings[0]!.fields as { aheadSeconds: number }).aheadSeconds).toBeGreaterThan(7000);
  });

  it('leaves to Bolt what it refuses itself: no timestamp, a malformed one, an old one', () => {
    const cases: Array<Record<string, string>> = [{}, { 'x-slack-request-timestamp': 'soon' }, { 'x-slack-request-timestamp': String(now() - 3600) }];
    for (const headers of cases) {
      const { req, res, logger, written } = fake(headers);
      expect(refuseFutureTimestamp(req, res, logger)).toBe(false);
      expect(written).toEqual([]);
    }
  });
});
