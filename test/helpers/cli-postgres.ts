/**
 * For a describe block that runs the CLI against the VergeOS simulator with a real PostgreSQL:
 * both started once before its tests and stopped after, with a scratch directory.
 */
import { afterAll, beforeAll } from 'vitest';
import { startPostgres, type TestPostgres } from './postgres.js';
import { startVergeosSim, type VergeosSim } from '../../src/sim/index.js';
import { tempDir } from './core.js';

export interface CliPostgres {
  sim: VergeosSim;
  postgres: TestPostgres;
  dir: string;
}

/** Call in a describe block; read the fields inside its tests (they are set once `beforeAll` ran). */
export function usePostgresAndSim(options: { importMs: number }): CliPostgres {
  const parts = {} as CliPostgres;
  let remove: () => Promise<void> = async () => {};
  beforeAll(async () => {
    parts.sim = await startVergeosSim({ timing: { importMs: options.importMs, startMs: 0, stopMs: 0 } });
    parts.postgres = await startPostgres();
    ({ dir: parts.dir, remove } = await tempDir());
  });
  afterAll(async () => {
    await parts.sim?.close();
    await parts.postgres?.stop();
    await remove();
  });
  return parts;
}
