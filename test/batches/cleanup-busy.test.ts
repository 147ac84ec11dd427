/** A batch cleanup skips a run another caller is cleaning up (busy), and cleans the rest. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupRuns } from '../../src/batches/batch.js';
import { provisioningRig, type ProvisioningRig, recipeSpec } from '../helpers/core.js';

describe('cleanupRuns with a run busy elsewhere', () => {
  let rig: ProvisioningRig;
  beforeEach(async () => {
    rig = await provisioningRig();
  });
  afterEach(() => rig.close());

  it('leaves the busy run to the caller that has it and cleans the others once', async () => {
    const spec = await recipeSpec('web-server', 'batch-busy');
    const runs = await rig.provisioner.createRuns([spec, { ...spec, vm: { ...spec.vm, name: 'batch-busy-2' } }], { actor: 'U0ALICE' });
    const stopped = await rig.provisioner.markNotStarted(
      runs.map((r) => r.id),
      'test',
      'U0ALICE',
    );
    expect(stopped.map((r) => r.state)).toEqual(['not_started', 'not_started']);

    const elsewhere = rig.provisioner.cleanup(runs[0]!.id, 'U0BOB');
    const outcome = await cleanupRuns(rig.provisioner, stopped, { actor: 'U0ALICE' });
    expect(outcome.cleaned.map((r) => r.id)).toEqual([runs[1]!.id]);
    expect(outcome.stillFailed).toEqual([]);
    expect((await elsewhere).state).toBe('cleaned_up');
    const records = (await readFile(join(rig.dir, 'audit.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; actor: string; runId?: string })
      .filter((r) => r.action.startsWith('run.clean'));
    const of = (runId: string) => records.filter((r) => r.runId === runId).map((r) => [r.action, r.actor]);
    // Each run cleaned once, by the caller that had it.
    expect(of(runs[0]!.id)).toEqual([
      ['run.cleanup_started', 'U0BOB'],
      ['run.cleaned_up', 'U0BOB'],
    ]);
    expect(of(runs[1]!.id)).toEqual([
      ['run.cleanup_started', 'U0ALICE'],
      ['run.cleaned_up', 'U0ALICE'],
    ]);
  });
});
