/** A recipe simulation's 405 "Simulation complete" is its answer: the transport returns that body, the client reads the report; nothing is created. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VergeosClient } from '../../src/vergeos/index.js';
import { simulationFailed } from '../../src/vergeos/recipe-types.js';
import { UBUNTU_RECIPE_KEY, type VergeosSim } from '../../src/sim/index.js';
import { simAndClient } from '../helpers/vergeos.js';

const PASSWORD = 'correct horse battery staple';

describe('simulating a VergeOS recipe', () => {
  let sim: VergeosSim;
  let client: VergeosClient;
  let close: () => Promise<void>;
  beforeEach(async () => {
    ({ sim, client, close } = await simAndClient());
  });
  afterEach(() => close());

  it('reads the report — cloud-init files, logs, resolved answers with defaults — and creates nothing', async () => {
    const vmsBefore = (await client.listLiveVms()).length;
    const report = await client.simulateRecipe({
      recipe: UBUNTU_RECIPE_KEY,
      name: 'sim-01',
      answers: { YB_HOSTNAME: 'sim-01', YB_PASSWORD: PASSWORD, YB_RAM: 8192 },
    });
    expect(simulationFailed(report)).toBeUndefined();
    expect(report.answers).toMatchObject({ YB_HOSTNAME: 'sim-01', YB_RAM: 8192, YB_CPU_CORES: 2 });
    expect(report.cloudInitFiles.length).toBeGreaterThan(0);
    expect(report.cloudInitFiles.map((f) => f.contents).join('\n')).toContain('sim-01');
    expect(JSON.stringify(report.cloudInitFiles)).not.toContain(PASSWORD);
    const posts = sim.requestsTo('POST /vm_recipe_instances');
    expect(posts.map((r) => [r.outcome, (r.body as { simulate?: boolean }).simulate])).toEqual([[405, true]]);
    expect((await client.listLiveVms()).length).toBe(vmsBefore);
  });

  it('a refused answer is a failure line in the report (still 405), naming the question', async () => {
    const report = await client.simulateRecipe({
      recipe: UBUNTU_RECIPE_KEY,
      name: 'sim-02',
      answers: { YB_HOSTNAME: 'sim-02', YB_PASSWORD: PASSWORD, YB_RAM: 512 },
    });
    expect(simulationFailed(report)).toMatch(/Error executing recipe: .*YB_RAM/);
    expect(sim.requestsTo('POST /vm_recipe_instances').map((r) => r.outcome)).toEqual([405]);
  });
});
