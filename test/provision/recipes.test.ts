/** Every shipped recipe, provisioned against the simulator: the exact calls, in order, with the machine key. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planSpec } from '../../src/plan/plan.js';
import { planJson } from '../../src/plan/render.js';
import { runResult } from '../../src/provision/result.js';
import { provisioningRig, recipeSpec } from '../helpers/core.js';

const RECIPES = ['web-server', 'enterprise-cloudinit', 'gpu-workstation', 'iso-install', 'cloud-image'];

describe('provisioning each shipped recipe', () => {
  let rig: Awaited<ReturnType<typeof provisioningRig>>;
  beforeEach(async () => {
    rig = await provisioningRig();
  });
  afterEach(() => rig.close());

  it.each(RECIPES)('%s: makes the planned calls in order, children on the machine key', async (recipe) => {
    const spec = await recipeSpec(recipe, `t-${recipe}`);
    const run = await rig.provisioner.createRun(spec, { actor: 'test' });
    const finished = await rig.provisioner.execute(run.id);
    expect(finished.state).toBe('succeeded');
    const { vmKey, machineKey } = finished.keys;
    expect(vmKey).toBeDefined();
    expect(machineKey).not.toBe(vmKey);

    // The POSTs VergeOS received are exactly the plan's calls, keys filled in.
    const posts = rig.sim.requests.filter((r) => r.method === 'POST');
    const expected = planJson(planSpec(spec), { vmKey, machineKey }).steps.filter((s) => s.method === 'POST');
    expect(posts.map((p) => p.path)).toEqual(expected.map((s) => s.path));
    expect(posts.map((p) => p.body)).toEqual(expected.map((s) => s.body));
    for (const child of posts.filter((p) => /machine_(drives|nics|devices)/.test(p.path))) {
      expect((child.body as { machine: string }).machine).toBe(machineKey);
    }
    // A run waits for imports before powering on.
    if (spec.drives.some((d) => d.media === 'import') && spec.power_on) {
      const powerIndex = rig.sim.requests.findIndex((r) => r.route === 'POST /vm_actions');
      const lastImportCheck = rig.sim.requests.map((r) => r.route).lastIndexOf('GET /machine_drives');
      expect(lastImportCheck).toBeLessThan(powerIndex);
    }

    // VergeOS now holds exactly what the spec asked for.
    const result = runResult(finished);
    expect((await rig.client.listDrives(machineKey!)).map((d) => d.key).sort()).toEqual(result.drives.map((d) => d.key).sort());
    expect((await rig.client.listNics(machineKey!)).map((n) => n.key)).toEqual(result.nics.map((n) => n.key));
    expect((await rig.client.listDevices(machineKey!)).map((d) => d.key)).toEqual(result.devices.map((d) => d.key));
    expect(result.drives.map((d) => d.name)).toEqual(planSpec(spec).steps.filter((s) => s.kind === 'add_drive').map((s) => (s as { body: { name: string } }).body.name));
    expect((await rig.client.machineStatus(machineKey!))?.running).toBe(spec.power_on);
    expect(result.poweredOn).toBe(spec.power_on);
  });
});
