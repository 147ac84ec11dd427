import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Provisioner } from '../../src/provision/provisioner.js';
import { loadRecipeFile } from '../../src/vmspec/recipes.js';
import type { VmSpec } from '../../src/vmspec/schema.js';
import { completeSpec } from '../../src/vmspec/validate.js';
import { FileAuditLog } from '../../src/store/audit-file.js';
import { LowdbStore } from '../../src/store/lowdb.js';
import type { VergeosSimOptions } from '../../src/sim/index.js';
import { simAndClient } from './vergeos.js';

export const MANIFESTS = fileURLToPath(new URL('../../manifests/', import.meta.url));

export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vmbot-test-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Simulator + client + real store and audit files + a provisioner with fast polling. */
export async function provisioningRig(simOptions: VergeosSimOptions = {}) {
  const { sim, client, close: closeSim } = await simAndClient({ timing: { importMs: 60, startMs: 0, stopMs: 0 }, ...simOptions });
  const { dir, remove } = await tempDir();
  const store = await LowdbStore.open(dir);
  const audit = await FileAuditLog.open(dir);
  const provisioner = new Provisioner({ vergeos: client, store, audit, importPoll: { intervalMs: 15, timeoutMs: 5_000 }, stopTimeoutMs: 200, pollMs: 15 });
  return {
    sim,
    client,
    dir,
    store,
    audit,
    provisioner,
    async close() {
      await audit.close();
      await store.close();
      await closeSim();
      await remove();
    },
  };
}

export async function recipeSpec(recipe: string, name: string): Promise<VmSpec> {
  const loaded = await loadRecipeFile(join(MANIFESTS, `${recipe}.yml`));
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const spec = completeSpec(loaded.recipe.draft, name);
  if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
  return spec.value;
}
