/** VergeOS readiness spends no call while VergeOS answered lately: it probes `GET /system` only when nothing did. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { answeredLatelyCheck, Readiness } from '../../src/ops/readiness.js';
import type { VergeosSim } from '../../src/sim/index.js';
import type { VergeosClient } from '../../src/vergeos/client.js';
import { withPurpose } from '../../src/vergeos/purpose.js';
import { until } from '../helpers/bot.js';
import { simAndClient } from '../helpers/vergeos.js';

const MINUTE = 60_000;

describe('the vergeos readiness check', () => {
  let sim: VergeosSim;
  let client: VergeosClient;
  let close: () => Promise<void>;
  /** The clock moved by hand: the client stamps answers with Date.now, the check reads it too. */
  const at = (minutes: number) => vi.setSystemTime(start + minutes * MINUTE);
  let start = 0;
  const check = () =>
    answeredLatelyCheck('vergeos', {
      lastAnswerAt: () => client.lastAnswerAt(),
      lastTroubleAt: () => client.lastTroubleAt(),
      probe: () => withPurpose('readiness', () => client.systemInfo()),
      withinMs: 6 * MINUTE,
    });

  beforeEach(async () => {
    ({ sim, client, close } = await simAndClient());
    start = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    at(0);
  });
  afterEach(async () => {
    vi.useRealTimers();
    await close();
  });

  it('probes once when nothing answered, then passes on any answer within the window without a call', async () => {
    const vergeos = check();
    await vergeos.run();
    expect(sim.requestsTo('GET /system')).toHaveLength(1);
    for (let i = 0; i < 10; i++) expect(await vergeos.run()).toBeUndefined();
    expect(sim.requests.map((r) => r.route)).toEqual(['GET /system']);

    // Another call answering keeps it passing past the probe's window.
    at(5);
    await client.listClusters();
    at(10);
    await vergeos.run();
    expect(sim.requests.map((r) => r.route)).toEqual(['GET /system', 'GET /clusters']);

    // Nothing answered for longer than the window: one probe.
    at(20);
    await vergeos.run();
    expect(sim.requests.map((r) => r.route)).toEqual(['GET /system', 'GET /clusters', 'GET /system']);
  });

  it('a call that finds VergeOS down fails the check at once, answered lately or not; an answer after it passes again', async () => {
    const vergeos = check();
    await client.listClusters();
    at(1);
    expect(await vergeos.run()).toBeUndefined();
    expect(sim.requests.map((r) => r.route)).toEqual(['GET /clusters']);
    sim.faults.add({ route: '*', status: 503, body: { err: 'Service unavailable' } });
    at(2);
    await expect(client.listVnets()).rejects.toThrow();
    // Within the window of the last answer, but trouble came after it: the check asks, and fails.
    await expect(vergeos.run()).rejects.toThrow(/503|unavailable/i);
    sim.faults.clear();
    at(3);
    expect(await vergeos.run()).toBeUndefined();
    expect(sim.requestsTo('GET /system').at(-1)?.outcome).toBe(200);
    const probes = sim.requestsTo('GET /system').length;
    expect(await vergeos.run()).toBeUndefined();
    expect(sim.requestsTo('GET /system')).toHaveLength(probes);
  });

  it('a failing probe fails the check, and the next check probes again (nothing newer answered)', async () => {
    sim.faults.add({ route: 'GET /system', nth: 1, times: 3, status: 401, body: { err: 'Invalid credentials' } });
    const vergeos = check();
    await expect(vergeos.run()).rejects.toThrow(/401|credentials/i);
    const probes = sim.requestsTo('GET /system').length;
    expect(probes).toBeGreaterThan(0);
    await expect(vergeos.run()).rejects.toThrow();
    expect(sim.requestsTo('GET /system').length).toBeGreaterThan(probes);
  });

  it('run by Readiness every 10 ms while answered lately: ready, one probe in all', async () => {
    const inner = check();
    let runs = 0;
    const counted = { name: inner.name, run: () => (runs++, inner.run()) };
    const readiness = new Readiness([counted], { passingEveryMs: 10, failingEveryMs: 10 });
    readiness.start();
    try {
      await until(() => runs >= 10, 'ten checks');
      expect(readiness.report().ready).toBe(true);
      expect(sim.requests.map((r) => r.route)).toEqual(['GET /system']);
    } finally {
      readiness.stop();
    }
  });
});
