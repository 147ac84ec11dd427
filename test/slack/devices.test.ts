/** Devices in the modal: a TPM, vGPU settings, EFI disks; the Windows 11 recipe from request to VM. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { GPU_RESOURCE_GROUP, VGPU_RESOURCE_GROUP } from '../../src/sim/index.js';
import { startRig, textOf, until, type Rig } from '../helpers/bot.js';

type Errors = { response_action: string; errors: Record<string, string> };
const blockIds = (rig: Rig) => ((rig.slack.openView(SLACK_SIM.requester)?.view.blocks ?? []) as Array<{ block_id?: string }>).map((b) => b.block_id ?? '');

describe('devices, TPMs and EFI disks through Slack', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.close());

  it('the Windows 11 recipe: modal shows the EFI disk and the TPM, the lead approves, the VM has a TPM and an EFI disk', async () => {
    await rig.driver.command(SLACK_SIM.requester, 'windows-11');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'modal');
    const view = JSON.stringify(modal.view);
    expect(view).toContain('"initial_option":{"text":{"type":"plain_text","text":"Virtual TPM 2.0 (Windows 11, BitLocker)","emoji":true},"value":"tpm"}');
    expect(view).toContain('"initial_option":{"text":{"type":"plain_text","text":"efidisk","emoji":true},"value":"efidisk"}');

    expect((await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'win11-01' })).body).toBe('');
    const approval = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'approval');
    expect(textOf(approval)).toContain('EFI disk (UEFI variables), virtio-scsi');
    expect(textOf(approval)).toContain('POST /api/v4/machine_devices  virtual TPM');
    expect(rig.store.getRequest('REQ-1')?.spec.devices).toEqual([{ type: 'tpm', count: 1, settings_args: {} }]);

    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await until(() => rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts).find((m) => m.text.includes('is ready')), 'the summary', 15_000);
    await rig.bot.idle();

    const vm = [...rig.vergeos.state.table('vms').values()].find((v) => v.name === 'win11-01')!;
    expect(vm).toMatchObject({ uefi: true, secure_boot: true, os_family: 'windows', rtc_base: 'localtime' });
    const devices = [...rig.vergeos.state.table('machine_devices').values()].filter((d) => String(d.machine) === String(vm.machine));
    expect(devices.map((d) => [d.type, d.resource_group])).toEqual([['tpm', null]]);
    expect(rig.vergeos.requestsTo('POST /machine_devices').map((r) => r.body)).toEqual([{ machine: String(vm.machine), type: 'tpm', settings_args: {} }]);
    const efi = rig.vergeos.requestsTo('POST /machine_drives').find((r) => (r.body as { media: string }).media === 'efidisk')!;
    expect(efi.body).toEqual({ machine: String(vm.machine), name: 'EFI', media: 'efidisk', interface: 'virtio-scsi' });
    expect(rig.store.getRequest('REQ-1')?.state).toBe('succeeded');
  });

  it('offers a TPM beside the resource groups; a vGPU pool shows its settings, which are sent with the type from the group', async () => {
    await rig.driver.command(SLACK_SIM.requester, '');
    let modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'modal');
    await rig.driver.modalAction(SLACK_SIM.requester, modal, 'device_add', {}, { name: 'vgpu-01' });
    modal = await until(() => blockIds(rig).some((b) => b.startsWith('device_group_0.')) && rig.slack.openView(SLACK_SIM.requester), 'a device row');

    const offered = (await rig.driver.options(SLACK_SIM.requester, modal, 'device_group_0')).json as {
      option_groups: Array<{ label: { text: string }; options: Array<{ value: string }> }>;
    };
    expect(offered.option_groups.map((g) => [g.label.text, g.options.map((o) => o.value)])).toEqual([
      ['Passthrough devices', ['5b0e8c2d-6a17-4f93-b2d4-9c3e1a7f0b58', GPU_RESOURCE_GROUP]], // by name: Mellanox, NVIDIA
      ['NVIDIA vGPU', [VGPU_RESOURCE_GROUP]],
      ['Virtual', ['tpm']],
    ]);

    // Picking the vGPU pool rebuilds the form with its settings.
    await rig.driver.modalAction(SLACK_SIM.requester, modal, 'resource_group', { selected: VGPU_RESOURCE_GROUP, field: 'device_group_0' }, { name: 'vgpu-01' });
    modal = await until(() => blockIds(rig).some((b) => b.startsWith('device_fps_0.')) && rig.slack.openView(SLACK_SIM.requester), 'vGPU settings');
    expect(blockIds(rig).filter((b) => b.startsWith('device_'))).toEqual(['device_group_0.0', 'device_fps_0.0', 'device_vgpu_0.0', 'device_row_0.0']);

    const reply = await rig.driver.submit(SLACK_SIM.requester, modal, {
      name: 'vgpu-01',
      device_group_0: { value: VGPU_RESOURCE_GROUP, label: 'NVIDIA A40-8Q vGPU' },
      device_fps_0: '0',
      device_vgpu_0: { checked: ['attach_drivers', 'enable_uvm'] },
    });
    expect(reply.body).toBe('');
    await until(() => rig.store.getRequest('REQ-1'), 'the request');
    expect(rig.store.getRequest('REQ-1')?.spec.devices).toEqual([
      {
        type: 'node_nvidia_vgpu_devices',
        resource_group: VGPU_RESOURCE_GROUP,
        count: 1,
        settings_args: { frame_rate_limiter: 0, attach_drivers: true, enable_uvm: true },
      },
    ]);

    // Another pick (a passthrough GPU) hides the vGPU settings again.
    await rig.driver.command(SLACK_SIM.requester, 'gpu-workstation');
    const gpu = await until(() => rig.slack.openView(SLACK_SIM.requester), 'gpu modal');
    expect(blockIds(rig).some((b) => b.startsWith('device_fps_'))).toBe(false);
    await rig.driver.modalAction(SLACK_SIM.requester, gpu, 'resource_group', { selected: VGPU_RESOURCE_GROUP, field: 'device_group_3' }, {});
    const shown = await until(
      () => blockIds(rig).some((b) => b.startsWith('device_fps_3.')) && rig.slack.openView(SLACK_SIM.requester),
      'vGPU settings on the recipe row',
    );
    await rig.driver.modalAction(SLACK_SIM.requester, shown, 'resource_group', { selected: GPU_RESOURCE_GROUP, field: 'device_group_3' }, {});
    await until(() => !blockIds(rig).some((b) => b.startsWith('device_fps_')), 'settings hidden');
  });

  it('bad devices and EFI disks are field errors under the field, and nothing is filed', async () => {
    // A sized EFI disk (the Windows 11 recipe's row 0).
    await rig.driver.command(SLACK_SIM.requester, 'windows-11');
    const win = await until(() => rig.slack.openView(SLACK_SIM.requester), 'modal');
    const sized = (await rig.driver.submit(SLACK_SIM.requester, win, { name: 'win-bad', drive_size_0: '1GiB' })).json as Errors;
    expect(sized.errors).toEqual({
      'drive_size_0.0':
        'an EFI disk takes no size: VergeOS sizes it for the UEFI variable store itself, and a sized one is a plain volume the VM cannot keep UEFI settings on; remove disksize',
    });
    // UEFI switched off while an EFI disk is there.
    const noUefi = (await rig.driver.submit(SLACK_SIM.requester, win, { name: 'win-bad', flags: { checked: [] } })).json as Errors;
    expect(noUefi.errors['drive_media_0.0']).toBe('an EFI disk is for UEFI VMs: set uefi: true, or remove the EFI disk');

    // A device row with nothing picked (a forged submission: Slack itself requires the field).
    await rig.driver.command(SLACK_SIM.requester, '');
    let blank = await until(() => rig.slack.openView(SLACK_SIM.requester)?.id !== win.id && rig.slack.openView(SLACK_SIM.requester), 'blank modal');
    await rig.driver.modalAction(SLACK_SIM.requester, blank, 'device_add', {}, { name: 'gpu-bad' });
    blank = await until(() => blockIds(rig).some((b) => b.startsWith('device_group_0.')) && rig.slack.openView(SLACK_SIM.requester), 'a device row');
    const empty = (await rig.driver.submit(SLACK_SIM.requester, blank, { name: 'gpu-bad' })).json as Errors;
    expect(empty.errors).toEqual({
      'device_group_0.0': 'a GPU, PCI, USB or SR-IOV device needs a resource group (its UUID or key), or give type: tpm for a virtual TPM',
    });
    expect(rig.store.listRequests()).toEqual([]);
  });
});
