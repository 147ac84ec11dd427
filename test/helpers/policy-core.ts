/**
 * The core composed over the VergeOS simulator, real files and a policy file, as `vmbot start`
 * composes it (no Slack): for tests of the workflows under a policy. `close` waits for what the
 * core is doing, then stops everything and removes the files.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compose, type Core } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { PolicyHolder } from '../../src/policy/watch.js';
import type { VergeosSim } from '../../src/sim/index.js';
import { FileAuditLog } from '../../src/store/audit-file.js';
import { LowdbStore } from '../../src/store/lowdb.js';
import { tempDir } from './core.js';
import { simAndClient } from './vergeos.js';

export interface PolicyCore {
  core: Core;
  sim: VergeosSim;
  dir: string;
  close: () => Promise<void>;
}

export async function policyCore(policyText: string, approvers: string, options: { preflightMs?: number } = {}): Promise<PolicyCore> {
  const started = await simAndClient({ timing: { importMs: 20, startMs: 0, stopMs: 0 } });
  const { dir, remove } = await tempDir();
  await writeFile(join(dir, 'policy.yml'), policyText);
  const env = loadConfig({ VERGEOS_URL: started.sim.url, DATA_DIR: dir, VM_APPROVERS: approvers }, []);
  const store = await LowdbStore.open(dir);
  const audit = await FileAuditLog.open(dir);
  const logger = createLogger({ level: 'silent' });
  const policy = await PolicyHolder.open(join(dir, 'policy.yml'), { optional: false, logger });
  const core = compose(
    { env, logger, store, audit, vergeos: started.client },
    { policy, provisioner: { importPoll: { intervalMs: 10, timeoutMs: 5_000 }, pollMs: 10, stopTimeoutMs: 200 }, ...options },
  );
  return {
    core,
    sim: started.sim,
    dir,
    async close() {
      await core.execution.idle();
      await core.provisioner.stop();
      await audit.close();
      await store.close();
      await started.close();
      await remove();
    },
  };
}
