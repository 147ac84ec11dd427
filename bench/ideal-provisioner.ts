/**
 * The pacing benchmark's ideal, in its own process like the bot (so neither side is warmer):
 * reads VM names on stdin, one per line; provisions each from the web-server recipe against
 * VERGEOS_URL through the real provisioner, store and audit log; prints `{"ms":…}`; deletes it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Provisioner } from '../src/provision/provisioner.js';
import { SIM_DEFAULT_API_KEY } from '../src/sim/index.js';
import { loadRecipeFile } from '../src/vmspec/recipes.js';
import { completeSpec } from '../src/vmspec/validate.js';
import { FileAuditLog } from '../src/store/audit-file.js';
import { LowdbStore } from '../src/store/lowdb.js';
import { VergeosClient } from '../src/vergeos/client.js';

const dir = await mkdtemp(join(tmpdir(), 'vmbot-pacing-ideal-'));
const store = await LowdbStore.open(dir);
const audit = await FileAuditLog.open(dir);
const vergeos = new VergeosClient({ url: process.env.VERGEOS_URL!, auth: { apiKey: SIM_DEFAULT_API_KEY } });
const provisioner = new Provisioner({ vergeos, store, audit });
const loaded = await loadRecipeFile(fileURLToPath(new URL('../manifests/web-server.yml', import.meta.url)));
if (!loaded.ok) throw new Error('recipe');

process.stdout.write('ready\n');
for await (const name of createInterface({ input: process.stdin })) {
  const spec = completeSpec(loaded.recipe.draft, name.trim());
  if (!spec.ok) throw new Error('spec');
  const started = performance.now();
  const run = await provisioner.execute((await provisioner.createRun(spec.value, { actor: 'bench' })).id);
  const ms = performance.now() - started;
  if (run.state !== 'succeeded') throw new Error(`ideal run ${run.state}`);
  // Give the tier its space back, so the bot's rounds have room.
  await vergeos.vmAction(run.keys.vmKey!, 'kill');
  await vergeos.deleteVm(run.keys.vmKey!);
  process.stdout.write(`${JSON.stringify({ ms })}\n`);
}
await vergeos.close();
await audit.close();
await store.close();
await rm(dir, { recursive: true, force: true });
