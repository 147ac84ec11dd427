/** Many VMs from one spec: separate runs, bounded concurrency; one failure leaves the others alone. */
import { randomBytes } from 'node:crypto';
import type { VmSpec } from '../spec/schema.js';
import type { RunRecord } from '../store/records.js';
import { Semaphore } from '../vergeos/semaphore.js';
import type { Provisioner, RunEventListener } from './provisioner.js';

export interface BulkOptions {
  actor: string;
  /** Runs in progress at once (each run's calls are sequential). Default 4. */
  concurrency?: number;
  listener?: RunEventListener;
}

export async function provisionBulk(provisioner: Provisioner, specs: VmSpec[], options: BulkOptions): Promise<RunRecord[]> {
  const group = `bulk-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
  const runs = await provisioner.createRuns(specs, { actor: options.actor, group });
  const slots = new Semaphore(options.concurrency ?? 4);
  return Promise.all(runs.map((run) => slots.run(() => provisioner.execute(run.id, options.listener, options.actor))));
}
