/** The sweeps label their VergeOS calls, so the request budget serves them after people's work. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compose, type Core } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { VergeosSim } from '../../src/sim/index.js';
import { FileAuditLog } from '../../src/store/audit-file.js';
import { LowdbStore } from '../../src/store/lowdb.js';
import type { VergeosApi } from '../../src/vergeos/client.js';
import { currentPurpose } from '../../src/vergeos/purpose.js';
import { parseSpec } from '../../src/vmspec/validate.js';
import { tempDir } from '../helpers/core.js';
import { simAndClient } from '../helpers/vergeos.js';

/** The client, with each method called recorded with the purpose it was called under. */
function recording(api: VergeosApi, calls: Array<[string, string]>): VergeosApi {
  return new Proxy(api, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'lastAnswerAt' || prop === 'close') return value;
      return (...args: unknown[]) => {
        calls.push([String(prop), currentPurpose()]);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe('the sweeps’ purposes', () => {
  let sim: VergeosSim;
  let core: Core;
  let closeAll: () => Promise<void>;
  let now = 0;
  const calls: Array<[string, string]> = [];

  beforeEach(async () => {
    const started = await simAndClient({ timing: { importMs: 10, startMs: 0, stopMs: 0, addressMs: 0 } });
    sim = started.sim;
    const { dir, remove } = await tempDir();
    const env = loadConfig({ VERGEOS_URL: sim.url, DATA_DIR: dir }, []);
    const store = await LowdbStore.open(dir);
    const audit = await FileAuditLog.open(dir);
    calls.length = 0;
    now = Date.now();
    core = compose(
      { env, logger: createLogger({ level: 'silent' }), store, audit, vergeos: recording(started.client, calls) },
      { provisioner: { importPoll: { intervalMs: 10, timeoutMs: 5_000 }, pollMs: 10, stopTimeoutMs: 200 }, now: () => now },
    );
    closeAll = async () => {
      await core.provisioner.stop();
      await audit.close();
      await store.close();
      await started.close();
      await remove();
    };
  });
  afterEach(() => closeAll());

  it('the gone-VM sweep asks under sweep, the address sweep under refresh', async () => {
    const parsed = parseSpec({ vm: { name: 'labelled-01', cpu_cores: 1, ram: '1GiB' }, nics: [{ vnet: '3' }] });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const run = await core.provisioner.createRun(parsed.value, { actor: 'tester' });
    expect((await core.provisioner.execute(run.id)).state).toBe('succeeded');

    calls.length = 0;
    await core.sweeps.goneVms();
    expect(calls).toEqual([['listLiveVms', 'sweep']]);

    calls.length = 0;
    now += 6_000; // the first ask is due 5 s after ready
    await core.sweeps.addresses();
    expect(calls.length).toBeGreaterThan(0);
    expect(new Set(calls.map(([, purpose]) => purpose))).toEqual(new Set(['refresh']));
  });
});
