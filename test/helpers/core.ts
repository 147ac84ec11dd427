import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Leases, type LeaseOptions } from '../../src/leases/leases.js';
import { Provisioner } from '../../src/provision/provisioner.js';
import { loadRecipeFile } from '../../src/vmspec/recipes.js';
import type { VmSpec } from '../../src/vmspec/schema.js';
import { completeSpec } from '../../src/vmspec/validate.js';
import { FileAuditLog } from '../../src/store/audit-file.js';
import type { FileSystem } from '../../src/store/durable-file.js';
import { LowdbStore } from '../../src/store/lowdb.js';
import type { VergeosSimOptions } from '../../src/sim/index.js';
import type { VergeosClientOptions } from '../../src/vergeos/index.js';
import { simAndClient } from './vergeos.js';

export const MANIFESTS = fileURLToPath(new URL('../../manifests/', import.meta.url));

export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vmbot-test-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface ProvisioningRigOptions {
  /** The file layer under the store's and the audit log's appends (e.g. faultyFs, to fill the disk). */
  fs?: FileSystem;
  /** The audit log's own file layer, when only its disk should misbehave. */
  auditFs?: FileSystem;
  /** How often the provisioner polls VergeOS and import drives (default 15 ms). */
  pollMs?: number;
  /** Client settings over the rig's (e.g. a request budget). */
  client?: Partial<VergeosClientOptions>;
}

export type ProvisioningRig = Awaited<ReturnType<typeof provisioningRig>>;

/** Simulator + client + real store and audit files + a provisioner with fast polling. */
export async function provisioningRig(simOptions: VergeosSimOptions = {}, options: ProvisioningRigOptions = {}) {
  const { sim, client, close: closeSim } = await simAndClient({ timing: { importMs: 60, startMs: 0, stopMs: 0 }, ...simOptions }, options.client);
  const { dir, remove } = await tempDir();
  const pollMs = options.pollMs ?? 15;
  const storeFs = options.fs ? { fs: options.fs } : {};
  const auditFs = options.auditFs ?? options.fs;
  const open = async () => {
    const store = await LowdbStore.open(dir, storeFs);
    const audit = await FileAuditLog.open(dir, auditFs ? { fs: auditFs } : {});
    const provisioner = new Provisioner({ vergeos: client, store, audit, importPoll: { intervalMs: pollMs, timeoutMs: 5_000 }, stopTimeoutMs: 200, pollMs });
    return { store, audit, provisioner };
  };
  const rig = {
    sim,
    client,
    dir,
    ...(await open()),
    /** A new process on the same directory; with `crash`, the old one is dropped as a crash would (nothing flushed, never closed). */
    async restart(crash = false) {
      if (!crash) {
        await rig.audit.close();
        await rig.store.close();
      }
      Object.assign(rig, await open());
    },
    async close() {
      await rig.audit.close();
      await rig.store.close();
      await closeSim();
      await remove();
    },
  };
  return rig;
}

/** The lease keeper over a rig's store, audit log and provisioner (a new one is a restarted bot). */
export function leasesOn(rig: Pick<ProvisioningRig, 'store' | 'audit' | 'provisioner'>, options: LeaseOptions = {}): Leases {
  return new Leases({ store: rig.store, audit: rig.audit, provisioner: rig.provisioner }, options);
}

export async function recipeSpec(recipe: string, name: string): Promise<VmSpec> {
  const loaded = await loadRecipeFile(join(MANIFESTS, `${recipe}.yml`));
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const spec = completeSpec(loaded.recipe.draft, name);
  if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
  return spec.value;
}
