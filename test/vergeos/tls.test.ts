/** A self-signed VergeOS is reached only with its CA file or the explicit insecure switch. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VergeosClient, operatorMessage } from '../../src/vergeos/index.js';
import { SIM_DEFAULT_API_KEY, startVergeosSim, type VergeosSim } from '../../src/sim/index.js';
import { captureLogger } from '../helpers/logs.js';
import { vergeosFailure } from '../helpers/vergeos.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));

describe('TLS to a self-signed VergeOS', () => {
  let sim: VergeosSim;
  beforeAll(async () => {
    sim = await startVergeosSim({ tls: { key: readFileSync(fixture('sim-key.pem')), cert: readFileSync(fixture('sim-cert.pem')) } });
  });
  afterAll(() => sim.close());

  const clientWith = (extra: Partial<ConstructorParameters<typeof VergeosClient>[0]>) =>
    new VergeosClient({ url: sim.url, auth: { apiKey: SIM_DEFAULT_API_KEY }, retry: { retries: 2, baseMs: 1, maxMs: 1 }, ...extra });

  it('is refused by default with VERGEOS_TLS, not retried, and the message says what to set', async () => {
    const client = clientWith({});
    try {
      expect(sim.url.startsWith('https://')).toBe(true);
      const err = await vergeosFailure(client.listClusters());
      expect(err).toMatchObject({ code: 'VERGEOS_TLS', retrySafe: false, outcomeUnknown: false });
      expect(err.transportCode).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
      expect(operatorMessage(err)).toMatch(/VERGEOS_CA_FILE/);
      expect(sim.requestsTo('GET /clusters')).toHaveLength(0);
    } finally {
      await client.close();
    }
  });

  it('is refused with an unrelated CA file', async () => {
    const client = clientWith({ caFile: fixture('other-ca.pem') });
    try {
      expect((await vergeosFailure(client.listClusters())).code).toBe('VERGEOS_TLS');
    } finally {
      await client.close();
    }
  });

  it('is accepted with its CA file', async () => {
    const client = clientWith({ caFile: fixture('sim-cert.pem') });
    try {
      expect((await client.listClusters()).map((c) => c.name)).toContain('Cluster1');
    } finally {
      await client.close();
    }
  });

  it('is accepted with the insecure switch, which warns once', async () => {
    const { logger, lines } = captureLogger('warn');
    const first = clientWith({ insecure: true, logger });
    const second = clientWith({ insecure: true, logger });
    try {
      const { vmKey } = await first.createVm({ name: 'over-tls' });
      expect((await second.getVm(vmKey)).name).toBe('over-tls');
    } finally {
      await first.close();
      await second.close();
    }
    const warnings = lines.filter((l) => l.includes('TLS certificate verification is OFF'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, origin: sim.url });
  });

  it('names an unreadable CA file without leaking anything else', () => {
    expect(() => clientWith({ caFile: '/nonexistent/ca.pem' })).toThrow('cannot read the VergeOS CA file /nonexistent/ca.pem: ENOENT');
  });
});
