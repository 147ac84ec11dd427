/**
 * VergeOS's words in an error body, read as its own clients read them: `err`, then `error`, then
 * `message` (and `{"err": true, "message": …}`); a body with none of them is shown as it came.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VergeosSim } from '../../src/sim/index.js';
import type { VergeosClient } from '../../src/vergeos/client.js';
import type { VergeosError } from '../../src/vergeos/errors.js';
import { simAndClient } from '../helpers/vergeos.js';

describe('error bodies', () => {
  let sim: VergeosSim;
  let client: VergeosClient;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ sim, client, close } = await simAndClient());
  });
  afterAll(() => close());

  const saidFor = async (body: Record<string, unknown> | string) => {
    sim.faults.clear();
    sim.faults.add({ route: 'POST /machine_nics', status: 422, body, nth: 1 });
    const err = (await client.addNic({ machine: '1', vnet: '3', name: 'n' }).catch((e: unknown) => e)) as VergeosError;
    return err.vergeosMessage;
  };

  it('takes err, then error, then message, and the message of {"err": true}', async () => {
    expect(await saidFor({ err: 'Invalid value for vnet' })).toBe('Invalid value for vnet');
    expect(await saidFor({ error: 'vnet is disabled' })).toBe('vnet is disabled');
    expect(await saidFor({ message: 'machine not found' })).toBe('machine not found');
    expect(await saidFor({ err: true, message: 'network is full' })).toBe('network is full');
    expect(await saidFor({ err: 'first', error: 'second', message: 'third' })).toBe('first');
  });

  it('shows a body without any of them as it came', async () => {
    expect(await saidFor({ status: 'nope' })).toBe('{"status":"nope"}');
    expect(await saidFor('<html>Bad gateway</html>')).toBe('<html>Bad gateway</html>');
  });
});
