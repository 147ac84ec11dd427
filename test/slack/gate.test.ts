/**
 * The approval gate under stress, through the real Bolt app over signed HTTP: VergeOS slow or
 * failing at submit (the request waits for its facts, never filed under a weaker rule), edits
 * beyond a recipe, names, and a run whose device kinds changed after approval.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GPU_RESOURCE_GROUP, SRIOV_RESOURCE_GROUP } from '../../src/sim/inventory.js';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import type { SlackView } from '../../src/sim/slack-sim.js';
import { readAuditRecords, type AuditRecord } from '../../src/store/audit.js';
import { startRig, textOf, until, type Rig } from '../helpers/bot.js';

const POLICY = `version: 1
groups:
  gpu-owners: [U0LEAD1, U0LEAD2]
rules:
  - name: no-sriov
    when: { devices: [sriov_nic] }
    deny: SR-IOV NICs are kept for the network team.
  - name: gpu-two-owners
    when: { devices: [gpu, vgpu] }
    approve: { count: 2, from: ["@gpu-owners"] }
  - name: iso-lab-auto
    when: { recipe: [iso-install] }
    auto: true
`;

type Errors = { response_action?: string; errors?: Record<string, string> };

const policyRig = (options: Parameters<typeof startRig>[0] = {}): Promise<Rig> => startRig({ ...options, policy: POLICY });

/** A blank form with one passthrough device from `group`, submitted as `name`. */
async function submitDevice(rig: Rig, name: string, group: string) {
  await rig.driver.command(SLACK_SIM.requester, '');
  let modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'modal');
  await rig.driver.modalAction(SLACK_SIM.requester, modal, 'device_add', {}, { name });
  modal = await until(
    () => JSON.stringify(rig.slack.openView(SLACK_SIM.requester)?.view).includes('device_group_0') && rig.slack.openView(SLACK_SIM.requester),
    'a device row',
  );
  rig.slack.closeView(modal.id);
  return rig.driver.submit(SLACK_SIM.requester, modal, { name, device_group_0: { value: group, label: 'group' } });
}

async function openForm(rig: Rig, recipe: string, after?: SlackView): Promise<SlackView> {
  await rig.driver.command(SLACK_SIM.requester, recipe);
  const modal = await until(() => {
    const open = rig.slack.openView(SLACK_SIM.requester);
    return open && open.id !== after?.id ? open : undefined;
  }, 'the modal');
  return modal;
}

async function auditOf(rig: Rig): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for await (const r of readAuditRecords(rig.audit.file)) records.push(r);
  return records;
}

describe('the gate when VergeOS is slow or failing at submit', () => {
  let rig: Rig;
  afterEach(() => rig.close());

  const faults = [
    { what: 'slow resource_groups', fault: { route: 'GET /resource_groups', latencyMs: 900 } },
    { what: 'failing resource_groups', fault: { route: 'GET /resource_groups', status: 503, body: { err: 'Service unavailable' } } },
    { what: 'slow machine_devices', fault: { route: 'GET /machine_devices', latencyMs: 900 } },
    { what: 'failing machine_devices', fault: { route: 'GET /machine_devices', status: 503, body: { err: 'Service unavailable' } } },
  ];
  it.each(faults)('$what: nothing approvable is filed; once VergeOS answers, the right rule decides', async ({ fault }) => {
    // Inventory lists kept for no time, so the second submission asks VergeOS too (and meets it slow or failing).
    rig = await policyRig({ preflightMs: 300, env: { VERGEOS_INVENTORY_TTL: '0ms' } });
    rig.vergeos.faults.add(fault);
    expect((await submitDevice(rig, 'gpu-01', GPU_RESOURCE_GROUP)).body).toBe('');
    // A list still in flight is shared: the second submission waits for the first one's to end, then asks its own.
    await until(() => rig.vergeos.requests.every((r) => r.outcome !== 0), 'the first pre-flight’s calls answered');
    expect((await submitDevice(rig, 'sriov-01', SRIOV_RESOURCE_GROUP)).body).toBe('');
    await until(() => rig.store.getRequest('REQ-2'), 'both filed');
    expect(rig.store.getRequest('REQ-1')).toMatchObject({ state: 'waiting_preflight' });
    expect(rig.store.getRequest('REQ-1')!.policy).toBeUndefined();
    expect(rig.store.getRequest('REQ-2')).toMatchObject({ state: 'waiting_preflight' });
    // Leads see nothing they could approve; the requester hears why.
    expect(rig.slack.channelMessages(SLACK_SIM.approvalChannel)).toEqual([]);
    const dms = await until(() => (rig.slack.dms(SLACK_SIM.requester).length >= 2 ? rig.slack.dms(SLACK_SIM.requester) : undefined), 'the DMs');
    expect(dms[0]!.text).toMatch(/REQ-1 \(gpu-01\): is filed, but VergeOS (did not answer the pre-flight checks within 0\.3 s|could not be asked)/);
    await expect(rig.bot.ctx.requests.approve('REQ-1', SLACK_SIM.lead1)).rejects.toThrow(/waiting_preflight|waiting for pre-flight|nothing was changed/);

    if (fault.status) {
      // A sweep while VergeOS still fails decides nothing.
      await rig.bot.sweep();
      expect(rig.store.getRequest('REQ-1')!.state).toBe('waiting_preflight');
    }

    rig.vergeos.faults.clear();
    await rig.bot.sweep();
    expect(rig.store.getRequest('REQ-1')).toMatchObject({ state: 'pending', policy: { rule: 'gpu-two-owners', count: 2 } });
    expect(rig.store.getRequest('REQ-1')!.spec.devices[0]).toMatchObject({ type: 'node_host_gpu_devices' });
    expect(rig.store.getRequest('REQ-2')).toMatchObject({ state: 'rejected', decidedBy: 'vmbot' });
    expect(rig.store.getRequest('REQ-2')!.reason).toBe('Not allowed by the approval policy (rule no-sriov): SR-IOV NICs are kept for the network team.');
    const approval = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'the approval message');
    expect(textOf(approval)).toContain('REQ-1');
    expect(textOf(approval)).toContain('rule *gpu-two-owners*');
    expect(rig.slack.channelMessages(SLACK_SIM.approvalChannel)).toHaveLength(1);
    await until(() => rig.slack.dms(SLACK_SIM.requester).find((m) => m.text.includes('REQ-2') && m.text.includes('could not be filed')), 'the refusal DM');
    const audit = await auditOf(rig);
    expect(audit.some((r) => /default/.test(r.detail ?? '') && r.requestId !== undefined)).toBe(false);
    expect(audit.filter((r) => r.requestId === 'REQ-1').map((r) => r.action)).toEqual([
      'request.created',
      'request.transition_refused', // the approval tried while it waited
      'request.preflight_done',
    ]);
    // Nothing was created in VergeOS.
    expect(rig.vergeos.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });
});

describe('a request waiting for pre-flight across a restart', () => {
  it('is still waiting after the bot restarts, and is decided by the first sweep once VergeOS answers', async () => {
    const rig = await policyRig({ preflightMs: 300 });
    try {
      rig.vergeos.faults.add({ route: 'GET /resource_groups', status: 503, body: { err: 'Service unavailable' } });
      expect((await submitDevice(rig, 'gpu-09', GPU_RESOURCE_GROUP)).body).toBe('');
      await until(() => rig.store.getRequest('REQ-1'), 'REQ-1');
      await rig.restart();
      expect(rig.store.getRequest('REQ-1')).toMatchObject({ state: 'waiting_preflight' });
      rig.vergeos.faults.clear();
      await rig.bot.sweep();
      expect(rig.store.getRequest('REQ-1')).toMatchObject({ state: 'pending', policy: { rule: 'gpu-two-owners' } });
      await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'the approval message after the restart');
    } finally {
      await rig.close();
    }
  });
});

describe('the gate when Slack cannot say who is in a group', () => {
  it('a deny rule on a group is never skipped: the request waits, then is refused', async () => {
    const rig = await startRig({
      policy: `version: 1
rules:
  - name: no-devs-on-prod
    when: { requester_in: [${SLACK_SIM.devsGroup}], cluster: ["1"] }
    deny: Developers use the lab cluster.
  - name: anything-auto
    when: {}
    auto: true
`,
    });
    try {
      const form = await openForm(rig, 'web-server');
      // The leads' group is known from opening the form; the developers' group is asked at submit.
      rig.slack.failNext.set('usergroups.users.list', ['internal_error']);
      expect((await rig.driver.submit(SLACK_SIM.requester, form, { name: 'prod-01' })).body).toBe('');
      const filed = await until(() => rig.store.getRequest('REQ-1'), 'REQ-1');
      expect(filed.state).toBe('waiting_preflight');
      const told = await until(() => rig.slack.dms(SLACK_SIM.requester)[0], 'the DM');
      expect(told.text).toContain(`Slack could not say who is in user group ${SLACK_SIM.devsGroup}`);
      rig.slack.failNext.clear();
      await rig.bot.sweep();
      expect(rig.store.getRequest('REQ-1')).toMatchObject({
        state: 'rejected',
        reason: 'Not allowed by the approval policy (rule no-devs-on-prod): Developers use the lab cluster.',
      });
      expect(rig.vergeos.requests.filter((r) => r.method === 'POST')).toEqual([]);
    } finally {
      await rig.close();
    }
  });
});

describe('rules, names and runs as approved', () => {
  let rig: Rig;
  afterEach(() => rig.close());

  it('a recipe rule covers its recipe as written, not a form edited beyond it', async () => {
    rig = await policyRig();
    const plain = await openForm(rig, 'iso-install');
    expect((await rig.driver.submit(SLACK_SIM.requester, plain, { name: 'lab-01' })).body).toBe('');
    await until(() => rig.store.getRequest('REQ-1'), 'REQ-1');
    expect(rig.store.getRequest('REQ-1')).toMatchObject({ policy: { rule: 'iso-lab-auto', decision: 'auto' } });

    const grown = await openForm(rig, 'iso-install', plain);
    expect((await rig.driver.submit(SLACK_SIM.requester, grown, { name: 'lab-02', cpu_cores: '64', ram: '256GiB' })).body).toBe('');
    const request = await until(() => rig.store.getRequest('REQ-2'), 'REQ-2');
    expect(request).toMatchObject({ state: 'pending', recipe: 'iso-install', policy: { rule: 'default', decision: 'approve' } });
    expect(request.warnings).toContain(
      'Changed beyond recipe iso-install: 64 vCPU is beyond what recipe iso-install allows (exactly 2). Rules written for that recipe do not apply to it.',
    );
    const approval = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel).find((m) => m.text.includes('REQ-2')), 'REQ-2 shown');
    expect(textOf(approval)).toContain('Changed beyond recipe iso-install');
  });

  it('names are trimmed before they are checked; a name a pending request holds is refused at submit', async () => {
    rig = await policyRig();
    const first = await openForm(rig, 'cloud-image');
    const trailing = (await rig.driver.submit(SLACK_SIM.requester, first, { name: 'legacy-db ' })).json as Errors;
    expect(trailing.errors).toEqual({ 'name.0': 'legacy-db is already taken in VergeOS (VM key 40); pick another name' });
    const control = (await rig.driver.submit(SLACK_SIM.requester, first, { name: 'db\u0007-01' })).json as Errors;
    expect(control.errors).toEqual({ 'name.0': 'the VM name cannot contain control characters (tabs, line breaks)' });
    expect((await rig.driver.submit(SLACK_SIM.requester, first, { name: ' web-07 ' })).body).toBe('');
    await until(() => rig.store.getRequest('REQ-1'), 'REQ-1');
    expect(rig.store.getRequest('REQ-1')!.spec.vm.name).toBe('web-07');
    const second = await openForm(rig, 'cloud-image', first);
    const again = (await rig.driver.submit(SLACK_SIM.requester, second, { name: 'web-07' })).json as Errors;
    expect(again.errors).toEqual({ 'name.0': 'web-07 is already asked for by REQ-1, which is not finished; pick another name' });
    expect(rig.store.listRequests()).toHaveLength(1);
  });

  it('a run stops before its first POST when a device group no longer holds what was approved', async () => {
    rig = await policyRig();
    expect((await submitDevice(rig, 'gpu-02', GPU_RESOURCE_GROUP)).body).toBe('');
    const approval = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'the approval message');
    expect(rig.store.getRequest('REQ-1')).toMatchObject({ policy: { rule: 'gpu-two-owners' } });
    // An admin turns the group into vGPUs after the request was judged.
    const group = [...rig.vergeos.state.table('resource_groups').values()].find((g) => g.uuid === GPU_RESOURCE_GROUP)!;
    group.type = 'node_nvidia_vgpu_devices';
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await until(() => rig.store.getRequest('REQ-1')!.approvals.length === 1, 'one approval');
    await rig.driver.clickMessageButton(SLACK_SIM.lead2, approval, 'request_approve');
    await until(() => rig.store.getRequest('REQ-1')!.state === 'failed', 'the run failed');
    const run = rig.store.getRun(rig.store.getRequest('REQ-1')!.runId!)!;
    expect(run.error).toMatchObject({ code: 'PROVISION_NOT_AS_APPROVED', stepId: 'create_vm' });
    expect(run.error!.message).toContain('now holds node_nvidia_vgpu_devices, not the node_host_gpu_devices that was approved');
    expect(rig.vergeos.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });
});
