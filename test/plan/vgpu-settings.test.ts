/**
 * vGPU devices are sent with pyVergeOS's `create_vgpu` defaults under whatever the recipe or form
 * sets, and the plan the lead approves shows them: they are put in where the plan is built, so a
 * device whose type pre-flight learns from its resource group gets them too.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planSpec, VGPU_DEFAULT_SETTINGS } from '../../src/plan/plan.js';
import { renderPlanText } from '../../src/plan/render.js';
import { preflightSpecs } from '../../src/preflight/check.js';
import { VGPU_RESOURCE_GROUP } from '../../src/sim/index.js';
import type { VmSpec } from '../../src/vmspec/schema.js';
import { parseSpec } from '../../src/vmspec/validate.js';
import { provisioningRig, recipeSpec, type ProvisioningRig } from '../helpers/core.js';

/** pyVergeOS's `create_vgpu` settings, read from its source, in its order. */
const PYVERGEOS_VGPU = {
  frame_rate_limiter: 60,
  attach_drivers: false,
  disable_vnc: false,
  enable_uvm: false,
  enable_debugging: false,
  enable_profiling: false,
  profile_type: 'any',
};

/** A small VM on the GPU cluster with these devices and nothing else. */
async function withDevices(name: string, devices: unknown[]): Promise<VmSpec> {
  const base = await recipeSpec('gpu-workstation', name);
  const parsed = parseSpec({ ...base, drives: [], nics: [], devices, power_on: false });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.value;
}

const deviceBodies = (spec: VmSpec) =>
  planSpec(spec)
    .steps.filter((s) => s.kind === 'add_device')
    .map((s) => s.body);

describe('vGPU settings', () => {
  let rig: ProvisioningRig;
  beforeEach(async () => {
    rig = await provisioningRig();
  });
  afterEach(() => rig.close());

  it("are pyVergeOS's defaults under what the recipe sets, and the plan shows them; other devices keep theirs", async () => {
    expect(VGPU_DEFAULT_SETTINGS).toEqual(PYVERGEOS_VGPU);
    const spec = await withDevices('vgpu-1', [
      { type: 'node_nvidia_vgpu_devices', resource_group: 2, settings_args: { frame_rate_limiter: 0, enable_uvm: true } },
      { type: 'node_nvidia_vgpu_devices', resource_group: 2 },
      { type: 'node_host_gpu_devices', resource_group: 1 },
      { type: 'tpm' },
    ]);
    expect(deviceBodies(spec)).toEqual([
      { type: 'node_nvidia_vgpu_devices', resource_group: 2, settings_args: { ...PYVERGEOS_VGPU, frame_rate_limiter: 0, enable_uvm: true } },
      { type: 'node_nvidia_vgpu_devices', resource_group: 2, settings_args: PYVERGEOS_VGPU },
      { type: 'node_host_gpu_devices', resource_group: 1, settings_args: {} },
      { type: 'tpm', settings_args: {} },
    ]);
    const text = renderPlanText(planSpec(spec));
    expect(text).toContain(
      'NVIDIA vGPU from resource group 2 with {"frame_rate_limiter":0,"attach_drivers":false,"disable_vnc":false,"enable_uvm":true,"enable_debugging":false,"enable_profiling":false,"profile_type":"any"}',
    );
    expect(text).toContain('host GPU from resource group 1\n');
  });

  it('the defaults pass the spec’s own vGPU settings checks', async () => {
    const spec = await withDevices('vgpu-2', [{ type: 'node_nvidia_vgpu_devices', resource_group: 2, settings_args: VGPU_DEFAULT_SETTINGS }]);
    expect(spec.devices[0]!.settings_args).toEqual(PYVERGEOS_VGPU);
  });

  it('reach the POST of a vGPU whose type pre-flight took from its resource group, as the approved plan showed', async () => {
    const spec = await withDevices('vgpu-3', [{ resource_group: VGPU_RESOURCE_GROUP, settings_args: { disable_vnc: true } }]);
    expect(deviceBodies(spec)).toEqual([{ resource_group: VGPU_RESOURCE_GROUP, settings_args: { disable_vnc: true } }]); // type not known yet
    const checked = await preflightSpecs(rig.client, [spec]);
    expect(checked.errors).toEqual([]);
    const resolved = checked.specs![0]!;
    const expected = { type: 'node_nvidia_vgpu_devices', resource_group: VGPU_RESOURCE_GROUP, settings_args: { ...PYVERGEOS_VGPU, disable_vnc: true } };
    expect(deviceBodies(resolved)).toEqual([expected]);

    const run = await rig.provisioner.createRun(resolved, { actor: 'test' });
    const done = await rig.provisioner.execute(run.id);
    expect(done.state).toBe('succeeded');
    const posts = rig.sim.requestsTo('POST /machine_devices');
    expect(posts.map((r) => r.body)).toEqual([{ machine: done.keys.machineKey, ...expected }]);
    const row = [...rig.sim.state.table('machine_devices').values()].find((d) => String(d.machine) === done.keys.machineKey);
    expect(row?.settings_args).toEqual(expected.settings_args);
  });

  it("the client adds `{}` only to other devices without settings; a vGPU's go as the plan made them", async () => {
    const { machineKey } = await rig.client.createVm({ name: 'dev-client', cluster: '2' });
    await rig.client.addDevice({ machine: machineKey, type: 'tpm' });
    await rig.client.addDevice({ machine: machineKey, type: 'node_nvidia_vgpu_devices', resource_group: 2, settings_args: { ...PYVERGEOS_VGPU } });
    expect(rig.sim.requestsTo('POST /machine_devices').map((r) => r.body)).toEqual([
      { machine: machineKey, type: 'tpm', settings_args: {} },
      { machine: machineKey, type: 'node_nvidia_vgpu_devices', resource_group: 2, settings_args: PYVERGEOS_VGPU },
    ]);
  });
});
