/**
 * Every change to a VM from `/vm-create mine`, through the real Bolt app over signed HTTP against
 * the VergeOS simulator: each form opens with the VM's current values, and its submission makes
 * exactly the VergeOS call it should (its body on the wire), shown in the VM's thread and the
 * audit channel. A bystander gets a plain sentence and nothing is sent.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import type { VmRecord } from '../../src/store/records.js';
import { GIB } from '../../src/vmspec/units.js';
import { textOf, until, type Rig } from '../helpers/bot.js';
import { auditLines, initialValues, makeVm, mine, NOW, openForm, pickMore, startDay2Rig, submitForm, threadReplies, toldSince } from './day2-steps.js';

const OWNER = SLACK_SIM.requester;

describe('changing a VM from /vm-create mine', () => {
  let rig: Rig;
  let vm: VmRecord;
  let thread: Awaited<ReturnType<typeof makeVm>>['thread'];
  beforeEach(async () => {
    rig = await startDay2Rig();
    ({ vm, thread } = await makeVm(rig, 'day2-01'));
  });
  afterEach(() => rig.close());

  const told = async (mark: number, part: string) => until(() => toldSince(rig, OWNER, mark).find((t) => t.includes(part)), `the owner told "${part}"`);

  it('lists each live VM with its size now and a More… menu of the six changes and a copy', async () => {
    const list = await mine(rig);
    expect(textOf(list)).toContain('*day2-01* · running');
    expect(textOf(list)).toContain('4 vCPU, 8 GiB RAM, 1 drive (100 GiB new disk), 1 NIC');
    const menu = (
      list.blocks as Array<{ block_id?: string; elements?: Array<{ action_id: string; options?: Array<{ value: string; text: { text: string } }> }> }>
    )
      .find((b) => b.block_id === `vm.${vm.runId}`)!
      .elements!.find((e) => e.action_id === 'vm_more')!;
    expect(menu.options!.map((o) => [o.text.text, o.value])).toEqual([
      ['Resize', `resize:${vm.runId}`],
      ['Add disk', `disk_add:${vm.runId}`],
      ['Grow disk', `disk_grow:${vm.runId}`],
      ['Add NIC', `nic_add:${vm.runId}`],
      ['Take snapshot', `snapshot_create:${vm.runId}`],
      ['Snapshots…', `snapshots:${vm.runId}`],
      ['Another like this', `clone:${vm.runId}`],
    ]);
  });

  it('Another like this: the form offers <name>-copy; submitted, a clone request goes through the creation rules and one clone call makes the copy', async () => {
    const list = await mine(rig);
    const opened = rig.slack.views.size;
    await pickMore(rig, OWNER, list, 'clone', vm.runId);
    const form = await until(
      () => [...rig.slack.views.values()].slice(opened).find((v) => v.user === OWNER && v.view.callback_id === 'vm_clone_submit'),
      'the clone form',
    );
    expect(Object.values(initialValues(form))).toContain('day2-01-copy');
    expect(await submitForm(rig, OWNER, form)).toEqual({});
    const request = await until(() => rig.store.requestsBy('requester', OWNER).find((r) => r.kind === 'clone'), 'the clone request');
    // 4 vCPU within quota: the creation rule small-vms approves the copy as it would a new VM.
    expect(request).toMatchObject({ kind: 'clone', clone: { runId: vm.runId, vmKey: vm.keys.vmKey, name: 'day2-01' }, policy: { rule: 'small-vms' } });
    await until(() => rig.store.getRequest(request.id)?.state === 'succeeded', 'the copy', 15_000);
    const clones = rig.vergeos.requestsTo('POST /vm_actions').filter((r) => (r.body as { action: string }).action === 'clone');
    expect(clones.map((r) => r.body)).toEqual([{ vm: Number(vm.keys.vmKey), action: 'clone', params: { name: 'day2-01-copy', preserve_macs: false } }]);
    expect(rig.bot.ctx.provisioner.ownedVms().find((v) => v.name === 'day2-01-copy')).toMatchObject({ owner: OWNER, state: 'live' });
  });

  it('Resize: the form shows 4 cores and 8 GiB; 6 cores and 12GiB are one PUT, and a running VM is marked restart needed', async () => {
    const form = await openForm(rig, 'resize', vm.runId);
    expect(initialValues(form)).toEqual({ cpu_cores: '4', ram: '8 GiB', restart: null });
    expect(JSON.parse(form.view.private_metadata as string)).toEqual({ runId: vm.runId, channel: SLACK_SIM.generalChannel });
    const mark = rig.slack.ephemerals.length;
    expect(await submitForm(rig, OWNER, form, { cpu_cores: '6', ram: '12GiB' })).toEqual({});
    expect(await told(mark, 'done')).toBe(
      'day2-01: resize: 4 vCPU, 8 GiB RAM → 6 vCPU, 12 GiB RAM — done (restart needed: the new size takes effect at its next power cycle).',
    );
    expect(rig.vergeos.requestsTo('PUT /vms/:key').map((r) => [r.path, r.body])).toEqual([[`/api/v4/vms/${vm.keys.vmKey}`, { cpu_cores: 6, ram: 12288 }]]);
    expect(rig.store.getVm(vm.id)).toMatchObject({ spec: { vm: { cpu_cores: 6, ram: 12288 } }, needRestart: true });
    const posted = await until(() => threadReplies(rig, thread, 'day2-01: resize')[0], 'the thread');
    expect(posted.text).toBe('day2-01: resize: 6 vCPU, 12 GiB RAM — done (restart needed: the new size takes effect at its next power cycle)');
    expect(textOf(posted)).toContain('asked by <@U0REQUESTER>, allowed by rule small-resize');
    await until(() => auditLines(rig, '*day2-01* changed: resize: 6 vCPU, 12 GiB RAM').length === 1, 'the audit line');
    expect(textOf(await mine(rig))).toContain('6 vCPU, 12 GiB RAM, 1 drive (100 GiB new disk), 1 NIC · :arrows_counterclockwise: restart needed');
  });

  it('Resize with consent to a power cycle: the PUT, then power off and on; no restart needed after', async () => {
    const form = await openForm(rig, 'resize', vm.runId);
    const made = rig.vergeos.requestsTo('POST /vm_actions').length;
    expect(await submitForm(rig, OWNER, form, { cpu_cores: '8', restart: { checked: ['restart'] } })).toEqual({});
    await until(() => rig.store.getVm(vm.id)?.changes?.[0]?.status === 'done', 'the resize');
    expect(rig.vergeos.requestsTo('PUT /vms/:key').map((r) => r.body)).toEqual([{ cpu_cores: 8, ram: 8192 }]);
    expect(
      rig.vergeos
        .requestsTo('POST /vm_actions')
        .slice(made)
        .map((r) => (r.body as { action: string }).action),
    ).toEqual(['poweroff', 'poweron']);
    expect(rig.store.getVm(vm.id)?.needRestart).toBeUndefined();
  });

  it('Add disk: named data-2 by default, 50GiB on tier 1 is one POST to machine_drives; a name taken is refused under Name', async () => {
    const form = await openForm(rig, 'disk_add', vm.runId);
    expect(initialValues(form)).toEqual({ name: 'data-2', size: null, tier: null, media: null });
    expect(await submitForm(rig, OWNER, form, { name: 'OS Drive', size: '50GiB' })).toEqual({ errors: { name: 'day2-01 already has a drive named OS Drive' } });
    expect(await submitForm(rig, OWNER, form, { size: '' })).toEqual({ errors: { size: 'give the disk size, e.g. 50GiB' } });
    const mark = rig.slack.ephemerals.length;
    expect(await submitForm(rig, OWNER, form, { size: '50GiB' })).toEqual({});
    await told(mark, 'add disk data-2: 50 GiB on tier 1 (virtio-scsi) — done');
    expect(rig.vergeos.requestsTo('POST /machine_drives').slice(-1)[0]!.body).toEqual({
      machine: vm.keys.machineKey,
      name: 'data-2',
      media: 'disk',
      interface: 'virtio-scsi',
      disksize: 50 * GIB,
    });
    await until(() => threadReplies(rig, thread, 'day2-01: add disk data-2').length === 1, 'the thread');
  });

  it('Grow disk: a select of its drives with their sizes; 200GiB is one PUT of the drive, and shrinking is refused under New size', async () => {
    const form = await openForm(rig, 'disk_grow', vm.runId);
    expect(initialValues(form)).toEqual({ drive: 'OS Drive', to: null });
    expect(JSON.stringify(form.view.blocks)).toContain('"text":"OS Drive — 100 GiB"');
    expect(await submitForm(rig, OWNER, form, { to: '50GiB' })).toEqual({
      errors: { to: 'drive OS Drive is 100 GiB; a drive can only grow, so give more than that' },
    });
    const mark = rig.slack.ephemerals.length;
    expect(await submitForm(rig, OWNER, form, { to: '200GiB' })).toEqual({});
    await told(mark, 'grow drive OS Drive: 100 GiB → 200 GiB — done');
    expect(rig.vergeos.requestsTo('PUT /machine_drives/:key').map((r) => r.body)).toEqual([{ disksize: 200 * GIB }]);
    expect(rig.store.getVm(vm.id)!.spec.drives[0]!.disksize).toBe(200 * GIB);
  });

  it('Add NIC: the network picker serves VergeOS networks; Dev-Internal is one POST to machine_nics', async () => {
    const form = await openForm(rig, 'nic_add', vm.runId);
    expect(initialValues(form)).toEqual({ vnet: null, name: 'nic-2', ipaddress: null });
    const offered = await rig.driver.options(OWNER, form, 'vnet');
    expect(JSON.stringify(offered.json)).toContain('"text":"Dev-Internal (internal)"},"value":"4"');
    expect(await submitForm(rig, OWNER, form, {})).toEqual({ errors: { vnet: 'choose a network' } });
    const mark = rig.slack.ephemerals.length;
    expect(await submitForm(rig, OWNER, form, { vnet: { value: '4', label: 'Dev-Internal (internal)' } })).toEqual({});
    await told(mark, 'add NIC nic-2 on network 4 (virtio) — done');
    expect(rig.vergeos.requestsTo('POST /machine_nics').slice(-1)[0]!.body).toEqual({
      machine: vm.keys.machineKey,
      name: 'nic-2',
      vnet: '4',
      interface: 'virtio',
      enabled: true,
    });
  });

  it('Take snapshot, then restore it (powering the VM off first, with consent) and delete it', async () => {
    const form = await openForm(rig, 'snapshot_create', vm.runId);
    expect(initialValues(form)).toEqual({ name: 'day2-01-20310301-1405', expires: '7d' });
    let mark = rig.slack.ephemerals.length;
    expect(await submitForm(rig, OWNER, form, { expires: '1d' })).toEqual({});
    await told(mark, 'take snapshot day2-01-20310301-1405 (expires 2031-03-02T14:05:30Z) — done');
    const taken = rig.vergeos.requestsTo('POST /machine_snapshots');
    expect(taken.map((r) => r.body)).toEqual([
      {
        machine: Number(vm.keys.machineKey),
        name: 'day2-01-20310301-1405',
        created_manually: true,
        quiesce: false,
        expires: Math.floor((NOW + 86_400_000) / 1000),
        expires_type: 'date',
      },
    ]);
    const key = rig.store.getVm(vm.id)!.changes![0]!.key!;
    const actionsBefore = rig.vergeos.requestsTo('POST /vm_actions').length;
    const actionsSince = () => rig.vergeos.requestsTo('POST /vm_actions').slice(actionsBefore);

    const restore = await openForm(rig, 'snapshots', vm.runId);
    expect(initialValues(restore)).toEqual({ snapshot: key, operation: null, power_off: null });
    expect(textOf({ text: '', blocks: restore.view.blocks as unknown[] })).toContain('everything written to it since the snapshot was taken is lost');
    // Running, without consent: the core's pre-flight refuses it, and nothing is sent.
    expect(await submitForm(rig, OWNER, restore, {}, { operation: 'restore' })).toEqual({
      errors: { snapshot: 'day2-01 is running: power it off first (a snapshot is restored in place only on a VM that is off)' },
    });
    expect(actionsSince()).toEqual([]);
    mark = rig.slack.ephemerals.length;
    expect(await submitForm(rig, OWNER, restore, { power_off: { checked: ['power_off'] } }, { operation: 'restore' })).toEqual({});
    await told(
      mark,
      'restore snapshot day2-01-20310301-1405 in place, powered off first, back to 4 vCPU, 8 GiB RAM (everything written since it was taken is lost) — done',
    );
    const actions = actionsSince().map((r) => r.body as { action: string; params?: unknown });
    expect(actions.map((a) => a.action)).toEqual(['poweroff', 'restore']);
    expect(actions[1]!.params).toEqual({ snapshot: Number(key) });

    const remove = await openForm(rig, 'snapshots', vm.runId);
    expect(initialValues(remove)).toEqual({ snapshot: key, operation: null });
    mark = rig.slack.ephemerals.length;
    expect(await submitForm(rig, OWNER, remove, {}, { operation: 'delete' })).toEqual({});
    await told(mark, 'delete snapshot day2-01-20310301-1405 — done');
    expect(rig.vergeos.requestsTo('DELETE /machine_snapshots/:key').map((r) => r.path)).toEqual([`/api/v4/machine_snapshots/${key}`]);
    await until(() => auditLines(rig, '*day2-01* changed:').length === 3, 'three audit lines');
  });

  it('a bystander: the menu opens nothing, a forged submission is refused with a plain sentence, and VergeOS is not asked', async () => {
    const list = await mine(rig);
    const views = rig.slack.views.size;
    let mark = rig.slack.ephemerals.length;
    await pickMore(rig, SLACK_SIM.bystander, list, 'resize', vm.runId);
    expect(await until(() => toldSince(rig, SLACK_SIM.bystander, mark)[0], 'the refusal')).toBe(
      'day2-01 belongs to <@U0REQUESTER>; only its owner or a lead may do that. Nothing was changed.',
    );
    expect(rig.slack.views.size).toBe(views);
    const form = await openForm(rig, 'resize', vm.runId);
    mark = rig.vergeos.requests.length;
    expect(await submitForm(rig, SLACK_SIM.bystander, form, { cpu_cores: '6' })).toEqual({
      errors: { cpu_cores: 'day2-01 belongs to <@U0REQUESTER>; only its owner or a lead may do that. Nothing was changed.' },
    });
    expect(rig.vergeos.requests.slice(mark)).toEqual([]);
    expect(rig.store.getVm(vm.id)?.changes).toBeUndefined();
  });
});
