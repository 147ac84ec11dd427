/** The operator's endpoints on the real bot: health, readiness with reasons, Prometheus metrics without user values. */
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { opsServer, closeServer } from '../../src/ops/http.js';
import { Readiness } from '../../src/ops/readiness.js';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { startRig, until, type Rig } from '../helpers/bot.js';

const get = async (url: string) => {
  const res = await request(url);
  return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
};

describe('/healthz, /readyz and /metrics', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.close());

  it('alive, then ready once Slack, VergeOS and the store pass; metrics carry states and routes, never names', async () => {
    const base = rig.driver.botUrl;
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, text: '{"ok":true}' });
    let ready = await get(`${base}/readyz`);
    for (let i = 0; ready.status !== 200 && i < 100; i++) ready = await new Promise((r) => setTimeout(r, 50)).then(() => get(`${base}/readyz`));
    expect(JSON.parse(ready.text)).toMatchObject({ ok: true, ready: true, checks: { slack: { ok: true }, vergeos: { ok: true }, store: { ok: true } } });
    expect(rig.slack.callsTo('auth.test').length).toBeGreaterThan(0);
    expect(rig.vergeos.requestsTo('GET /system').length).toBeGreaterThan(0);

    await rig.driver.command(SLACK_SIM.requester, 'web-server');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'modal');
    await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'metrics-secret-name-01' });
    await until(() => rig.store.getRequest('REQ-1'), 'filed');

    const metrics = await get(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.type).toContain('text/plain');
    expect(metrics.text).toMatch(/^vmbot_requests\{state="pending"\} 1$/m);
    expect(metrics.text).toMatch(/^vmbot_vergeos_requests_total\{method="GET",endpoint="\/vms",status="200",purpose="preflight"\} \d+$/m);
    expect(metrics.text).toMatch(/^vmbot_vergeos_request_duration_seconds_count\{method="GET",endpoint="\/system"\} \d+$/m);
    expect(metrics.text).toMatch(/^vmbot_slack_pending_writes \d+$/m);
    expect(metrics.text).toMatch(/^vmbot_runs_in_flight 0$/m);
    expect(metrics.text).toMatch(/^vmbot_process_cpu_seconds_total /m);
    // Labels hold states, methods and table routes only.
    expect(metrics.text).not.toContain('metrics-secret-name-01');
    expect(metrics.text).not.toContain(SLACK_SIM.requester);
    expect(metrics.text).not.toMatch(/endpoint="\/\w+\/\d+"/);
  });
});

describe('Readiness', () => {
  it('names what fails, recovers when it passes, and is never ready once stopping', async () => {
    let vergeosUp = false;
    const readiness = new Readiness(
      [
        { name: 'slack', run: async () => undefined },
        {
          name: 'vergeos',
          run: async () => {
            if (!vergeosUp) throw new Error('VERGEOS_UNAVAILABLE on GET /api/v4/system (ECONNREFUSED)');
            return undefined;
          },
        },
        { name: 'store', run: async () => 'the store is closed' },
      ],
      { failingEveryMs: 10, passingEveryMs: 10 },
    );
    expect(readiness.report().ready).toBe(false);
    readiness.start();
    await until(() => readiness.report().checks.vergeos?.problem?.includes('ECONNREFUSED'), 'first check');
    expect(readiness.reason()).toBe('vergeos: VERGEOS_UNAVAILABLE on GET /api/v4/system (ECONNREFUSED); store: the store is closed');
    vergeosUp = true;
    await until(() => readiness.report().checks.vergeos?.ok, 'vergeos passes');
    expect(readiness.reason()).toBe('store: the store is closed');
    readiness.stop();
    expect(readiness.report()).toMatchObject({ ready: false, stopping: true });
    expect(readiness.reason()).toBe('shutting down');
  });
});

describe('the endpoints on a port of their own (Socket Mode, HEALTH_PORT)', () => {
  it('serve /healthz, /readyz (503 with the reason, then 200) and /metrics, and nothing else', async () => {
    let ready = false;
    const readiness = new Readiness([{ name: 'slack', run: async () => (ready ? undefined : 'auth.test has not answered') }], {
      failingEveryMs: 10,
      passingEveryMs: 10,
    });
    readiness.start();
    const { server, port } = await opsServer(0, readiness, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    try {
      expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, text: '{"ok":true}' });
      await until(() => readiness.report().checks.slack?.problem === 'auth.test has not answered', 'first check');
      const down = await get(`${base}/readyz`);
      expect([down.status, JSON.parse(down.text).reason]).toEqual([503, 'slack: auth.test has not answered']);
      ready = true;
      await until(() => readiness.report().ready, 'ready');
      expect((await get(`${base}/readyz`)).status).toBe(200);
      const metrics = await get(`${base}/metrics`);
      expect([metrics.status, metrics.type.startsWith('text/plain')]).toEqual([200, true]);
      expect(metrics.text).toMatch(/^vmbot_runs_in_flight \d+$/m);
      expect((await get(`${base}/slack/events`)).status).toBe(404);
    } finally {
      readiness.stop();
      await closeServer(server);
    }
  });
});
