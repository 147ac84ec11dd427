/** No credential string appears in any error or log line of a failed call. */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VergeosClient, operatorMessage, type VergeosError } from '../../src/vergeos/index.js';
import { startVergeosSim, type VergeosSim } from '../../src/sim/index.js';
import { captureLogger } from '../helpers/logs.js';
import { vergeosFailure } from '../helpers/vergeos.js';

const API_KEY = 'vk-SECRET-4f9a1c7e2b';
const USER = 'svc-vmbot';
const PASSWORD = 'pw-SECRET-d81e6b02';
const WRONG_KEY = 'vk-WRONG-SECRET-0000';

describe('credentials never leak from failed calls', () => {
  let sim: VergeosSim;
  beforeAll(async () => {
    sim = await startVergeosSim({ apiKeys: { [API_KEY]: 'admin' }, users: { [USER]: { password: PASSWORD, role: 'readonly' } } });
  });
  afterAll(() => sim.close());

  const secrets = [API_KEY, PASSWORD, WRONG_KEY, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')];

  function expectClean(text: string): void {
    for (const secret of secrets) expect(text).not.toContain(secret);
  }

  function everyRendering(err: VergeosError): string {
    return [err.message, String(err), err.stack ?? '', JSON.stringify(err), inspect(err, { depth: 5, showHidden: true }), operatorMessage(err)].join('\n');
  }

  it('in errors, their renderings and the log, for every kind of failure', async () => {
    const { logger, lines } = captureLogger('debug');
    const options = { url: sim.url, logger, retry: { retries: 1, baseMs: 1, maxMs: 1 }, timeouts: { headersMs: 300, bodyMs: 300 } };
    const byKey = new VergeosClient({ ...options, auth: { apiKey: API_KEY } });
    const wrongKey = new VergeosClient({ ...options, auth: { apiKey: WRONG_KEY } });
    const basic = new VergeosClient({ ...options, auth: { username: USER, password: PASSWORD } });
    const insecure = new VergeosClient({ ...options, url: sim.url.replace('http:', 'https:'), insecure: true, auth: { apiKey: API_KEY } });
    const failures: VergeosError[] = [];
    try {
      failures.push(await vergeosFailure(wrongKey.listClusters())); // 401
      failures.push(await vergeosFailure(basic.createVm({ name: 'x' }))); // 403 (read-only user)
      sim.faults.add({ route: 'POST /vms', nth: 1, status: 500, body: 'stack trace here' });
      failures.push(await vergeosFailure(byKey.createVm({ name: 'y' }))); // 500, non-JSON
      sim.faults.add({ route: 'GET /vnets', drop: true });
      failures.push(await vergeosFailure(basic.listVnets())); // reset, retried then given up
      sim.faults.add({ route: 'GET /files', hang: true });
      failures.push(await vergeosFailure(byKey.listMediaFiles())); // timeout
      failures.push(await vergeosFailure(insecure.listClusters())); // TLS to a plain-HTTP port
    } finally {
      await Promise.all([byKey.close(), wrongKey.close(), basic.close(), insecure.close()]);
    }
    expect(failures.map((f) => f.code)).toEqual([
      'VERGEOS_UNAUTHORIZED',
      'VERGEOS_FORBIDDEN',
      'VERGEOS_SERVER_ERROR',
      'VERGEOS_UNAVAILABLE',
      'VERGEOS_TIMEOUT',
      expect.stringMatching(/VERGEOS_(TLS|UNAVAILABLE)/),
    ]);
    for (const failure of failures) expectClean(everyRendering(failure));
    expect(lines.length).toBeGreaterThan(5); // debug lines and retry warnings were written…
    expectClean(lines.join('\n')); // …without a credential in any of them
    for (const client of [byKey, wrongKey, basic]) {
      expectClean(inspect(client, { depth: 10, showHidden: true }));
      expectClean(JSON.stringify(client));
    }
  });

  it('refuses a URL with credentials in it, without echoing them', () => {
    let message = '';
    try {
      new VergeosClient({ url: `https://${USER}:${PASSWORD}@vergeos.example.com`, auth: { apiKey: API_KEY } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe('VergeOS URL must not contain credentials; use the API key or username/password settings');
  });

  it('redacts secret-named fields if a caller ever logs them', () => {
    const { logger, lines } = captureLogger('info');
    logger.info({ apiKey: API_KEY, auth: { password: PASSWORD }, body: { console_pass_hash: '$6$SECRET' } }, 'oops');
    expectClean(lines.join('\n'));
    expect(lines.join('\n')).not.toContain('$6$SECRET');
    expect(JSON.parse(lines[0]!)).toMatchObject({ apiKey: '***', auth: { password: '***' }, body: { console_pass_hash: '***' } });
  });
});
