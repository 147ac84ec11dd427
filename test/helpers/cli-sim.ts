/**
 * For a describe block that runs `vmbot` against the VergeOS simulator: the simulator (fast
 * imports, power states and addresses) and a scratch DATA_DIR, started once before its tests and
 * stopped after. Call it before the block's own `beforeAll` (hooks run in order).
 */
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { SIM_DEFAULT_API_KEY, startVergeosSim, type VergeosSim } from '../../src/sim/index.js';
import { MANIFESTS, tempDir } from './core.js';

export interface CliSim {
  sim: VergeosSim;
  /** The environment `vmbot` runs with: the simulator, DATA_DIR, the shipped recipes. */
  env: Record<string, string>;
}

/** Read the fields inside hooks and tests (they are set once `beforeAll` ran). */
export function useCliSim(extraEnv: Record<string, string> = {}): CliSim {
  const parts = {} as CliSim;
  let remove: () => Promise<void> = async () => {};
  beforeAll(async () => {
    parts.sim = await startVergeosSim({ timing: { importMs: 50, startMs: 0, stopMs: 0, addressMs: 0 } });
    const temp = await tempDir();
    remove = temp.remove;
    parts.env = {
      VERGEOS_URL: parts.sim.url,
      VERGEOS_API_KEY: SIM_DEFAULT_API_KEY,
      DATA_DIR: join(temp.dir, 'data'),
      MANIFESTS_DIR: MANIFESTS,
      VMBOT_POLL_INTERVAL: '20ms',
      ...extraEnv,
    };
  });
  afterAll(async () => {
    await parts.sim?.close();
    await remove();
  });
  return parts;
}
