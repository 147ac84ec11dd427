/**
 * Changes through the core's workflow, as Slack asks them: pre-flight before anyone is asked,
 * the policy's day-2 rules judging the VM as it would be after (a small resize within quota
 * applied at once, a big one filed for a lead with before → after and the exact calls), a deny
 * refused, quotas counting the VM's size now, and an approved change applied once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Core } from '../../src/compose.js';
import type { VmRecord } from '../../src/store/records.js';
import type { VergeosSim } from '../../src/sim/index.js';
import type { VmChange } from '../../src/vmchange/schema.js';
import { recipeSpec } from '../helpers/core.js';
import { policyCore } from '../helpers/policy-core.js';
import { readAudit } from '../helpers/audit.js';

const OWNER = 'UOWNER';
const LEAD = 'ULEAD1';
const POLICY = `version: 1
quotas:
  per_user: { vcpu: 12 }
rules:
  - name: no-new-nics
    when: { action: [nic_add] }
    deny: networks are added by the network team
  - name: restores-within-quota
    when: { action: [snapshot_restore] }
    within_quota: true
    auto: true
  - name: small-resize
    when: { action: [resize], vcpu: { max: 8 } }
    within_quota: true
    auto: true
  - name: big-resize
    when: { action: [resize] }
    approve: { count: 1, from: [${LEAD}] }
  - name: snapshots
    when: { action: [snapshot_create, snapshot_delete] }
    auto: true
  - name: new-vms
    auto: true
`;

describe('changes through the policy', () => {
  let sim: VergeosSim;
  let core: Core;
  let done: () => Promise<void>;

  beforeEach(async () => {
    const rig = await policyCore(POLICY, LEAD);
    ({ core, sim } = rig);
    done = rig.close;
  });
  afterEach(() => done());

  /** A VM made for OWNER (4 vCPU, 8 GiB: the web-server recipe). */
  async function made(name: string): Promise<VmRecord> {
    const run = await core.provisioner.execute((await core.provisioner.createRun(await recipeSpec('web-server', name), { actor: OWNER })).id);
    expect(run.state).toBe('succeeded');
    return core.provisioner.ownedVm(run.id)!;
  }
  const resize = (cores: number, ram = 8192): VmChange => ({ action: 'resize', cpu_cores: cores, ram, restart: false });
  const puts = () => sim.requestsTo('PUT /vms/:key');

  it('a small resize within quota is applied at once under its rule; asked again by the same form, nothing more happens', async () => {
    const vm = await made('pol-01');
    const asked = await core.changes.ask(vm, resize(6), OWNER, 'view-1');
    expect(asked).toMatchObject({ kind: 'done', rule: 'small-resize', result: { entry: { status: 'done', approval: 'rule small-resize' } } });
    expect(puts().map((r) => r.body)).toEqual([{ cpu_cores: 6, ram: 8192 }]);
    expect(await core.changes.ask(core.provisioner.ownedVm(vm.runId)!, resize(6), OWNER, 'view-1')).toMatchObject({ kind: 'done', result: { already: true } });
    expect(puts()).toHaveLength(1);
  });

  it('a resize beyond the small rule goes to a lead showing before → after and the calls; approved, it is applied once', async () => {
    const vm = await made('pol-02');
    const asked = await core.changes.ask(vm, resize(10, 16384), OWNER, 'view-2');
    if (asked.kind !== 'requested') throw new Error(JSON.stringify(asked));
    expect(asked.request).toMatchObject({
      kind: 'change',
      state: 'pending',
      requester: OWNER,
      policy: { rule: 'big-resize', decision: 'approve', from: [LEAD] },
      spec: { vm: { name: 'pol-02', cpu_cores: 10, ram: 16384 } },
      change: {
        runId: vm.runId,
        shown: 'resize: 4 vCPU, 8 GiB RAM → 10 vCPU, 16 GiB RAM',
        calls: [`PUT /api/v4/vms/${vm.keys.vmKey} {"cpu_cores":10,"ram":16384}`],
      },
    });
    expect(asked.request.policy!.quota).toEqual(['Quota: 4 of 12 vCPU now; 10 of 12 vCPU with this']);
    expect(puts()).toHaveLength(0);
    const approved = await core.requests.approve(asked.request.id, LEAD);
    await core.execution.startApproved(approved.request, LEAD);
    // Started again (a second process, a restart): the request is closed, nothing is sent again.
    await core.execution.startApproved(approved.request, LEAD);
    expect(core.requests.get(asked.request.id)).toMatchObject({ state: 'succeeded' });
    expect(puts().map((r) => r.body)).toEqual([{ cpu_cores: 10, ram: 16384 }]);
    expect(core.provisioner.ownedVm(vm.runId)!.changes).toMatchObject([{ id: asked.request.id, requestId: asked.request.id, status: 'done' }]);
  });

  it('quotas count each VM as it is now: after a resize, the next one that would pass the quota goes to a lead', async () => {
    const a = await made('pol-03');
    const b = await made('pol-04');
    expect(await core.changes.ask(a, resize(6), OWNER, 'view-3')).toMatchObject({ kind: 'done' });
    // 6 + 4 = 10 of 12 now: 4 → 8 would be 14, over quota, so the small rule does not match.
    const next = await core.changes.ask(b, resize(8), OWNER, 'view-4');
    expect(next).toMatchObject({ kind: 'requested', request: { policy: { rule: 'big-resize' } } });
    // Shrinking never needs quota room.
    expect(await core.changes.ask(core.provisioner.ownedVm(a.runId)!, resize(2), OWNER, 'view-5')).toMatchObject({ kind: 'done', rule: 'small-resize' });
  });

  it('the same size again is refused, unless it is the power cycle a resize still waits for', async () => {
    const vm = await made('pol-07');
    expect(await core.changes.ask(vm, resize(4), OWNER, 'view-11')).toEqual({
      kind: 'refused',
      errors: [{ path: 'cpu_cores', message: 'pol-07 already has 4 vCPU and 8 GiB RAM' }],
    });
    expect(await core.changes.ask(vm, resize(6), OWNER, 'view-12')).toMatchObject({ kind: 'done', result: { vm: { needRestart: true } } });
    const cycled = await core.changes.ask(core.provisioner.ownedVm(vm.runId)!, { action: 'resize', cpu_cores: 6, ram: 8192, restart: true }, OWNER, 'view-13');
    expect(cycled).toMatchObject({ kind: 'done', result: { entry: { status: 'done' } } });
    expect(core.provisioner.ownedVm(vm.runId)!.needRestart).toBeUndefined();
    expect(
      sim
        .requestsTo('POST /vm_actions')
        .map((r) => (r.body as { action: string }).action)
        .slice(-2),
    ).toEqual(['poweroff', 'poweron']);
  });

  it('a restore is judged on the size it goes back to: growing past the quota needs a lead', async () => {
    const vm = await made('pol-08');
    expect(await core.changes.ask(vm, resize(8), OWNER, 'view-20')).toMatchObject({ kind: 'done' });
    await core.changes.ask(core.provisioner.ownedVm(vm.runId)!, { action: 'snapshot_create', name: 'big', quiesce: false }, OWNER, 'view-21');
    expect(await core.changes.ask(core.provisioner.ownedVm(vm.runId)!, resize(2), OWNER, 'view-22')).toMatchObject({ kind: 'done' });
    // The freed quota spent elsewhere: 2 + 8 = 10 of 12.
    const other = await made('pol-09');
    expect(await core.changes.ask(other, resize(8), OWNER, 'view-23')).toMatchObject({ kind: 'done' });
    await core.vms.power(core.provisioner.ownedVm(vm.runId)!, 'off', OWNER);
    const key = (await core.changes.snapshot(vm, 'big')).key;
    const restore = await core.changes.ask(
      core.provisioner.ownedVm(vm.runId)!,
      { action: 'snapshot_restore', snapshot: 'big', snapshotKey: key, power_off: false },
      OWNER,
      'view-24',
    );
    // Over quota, the restore rule does not match: the default asks a lead, who sees what it goes back to.
    expect(restore).toMatchObject({
      kind: 'requested',
      request: { spec: { vm: { cpu_cores: 8 } }, change: { shown: expect.stringContaining('back to 8 vCPU, 8 GiB RAM') } },
    });
  });

  it('an approved change counts against the quota before it is applied; applied after the VM was handed on, it is refused', async () => {
    const vm = await made('pol-10');
    const big = await core.changes.ask(vm, resize(10), OWNER, 'view-30');
    if (big.kind !== 'requested') throw new Error(JSON.stringify(big));
    const approved = await core.requests.approve(big.request.id, LEAD);
    // 10 of 12 held once it is applied: another VM's small resize to 4 → 6 no longer fits.
    const other = await made('pol-11');
    expect(await core.changes.ask(other, resize(6), OWNER, 'view-31')).toMatchObject({ kind: 'requested' });
    await core.vms.transfer(core.provisioner.ownedVm(vm.runId)!, 'USOMEONE', LEAD);
    await core.execution.startApproved(approved.request, LEAD);
    expect(core.requests.get(big.request.id)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/was handed on since it was asked for/) });
    expect(puts()).toHaveLength(0);
  });

  it('an approved change whose VM is busy stays approved, and the recovery pass applies it once the VM is free', async () => {
    const vm = await made('pol-12');
    const big = await core.changes.ask(vm, resize(10), OWNER, 'view-40');
    if (big.kind !== 'requested') throw new Error(JSON.stringify(big));
    const approved = await core.requests.approve(big.request.id, LEAD);
    // Another change holds the VM (reserved, about to be sent).
    await core.provisioner.reserveChange(vm.runId, { id: 'other', change: { action: 'snapshot_create', name: 's', quiesce: false }, actor: OWNER });
    await core.execution.startApproved(approved.request, LEAD);
    expect(core.requests.get(big.request.id).state).toBe('approved');
    expect(puts()).toHaveLength(0);
    await core.provisioner.withdrawReservedChange(vm.runId, 'other');
    await core.recovery.takeOver();
    expect(core.requests.get(big.request.id).state).toBe('succeeded');
    expect(puts().map((r) => r.body)).toEqual([{ cpu_cores: 10, ram: 8192 }]);
  });

  it('a rule can deny a kind of change: refused under the field, audited, nothing sent', async () => {
    const vm = await made('pol-05');
    const nicsBefore = sim.requestsTo('POST /machine_nics').length;
    const nic = await core.changes.ask(vm, { action: 'nic_add', nic: { name: 'backend', vnet: '3', interface: 'virtio', enabled: true } }, OWNER, 'view-6');
    expect(nic).toEqual({
      kind: 'refused',
      errors: [{ path: 'vnet', message: 'Not allowed by the approval policy (rule no-new-nics): networks are added by the network team' }],
    });
    expect(sim.requestsTo('POST /machine_nics')).toHaveLength(nicsBefore);
    const audit = await readAudit(core.env.DATA_DIR);
    expect(audit.at(-1)).toMatchObject({ action: 'request.denied_by_policy', actor: OWNER, vmName: 'pol-05', outcome: 'refused' });
  });

  it('pre-flight answers before the policy: more cores than the cluster runs per VM, a restore of a running VM', async () => {
    const vm = await made('pol-06');
    const big = await core.changes.ask(vm, resize(200), OWNER, 'view-8');
    expect(big).toEqual({
      kind: 'refused',
      errors: [
        { path: 'cpu_cores', message: 'cluster Cluster1 runs VMs of at most 128 cores; VergeOS would accept 200 and then refuse to start the VM' },
        { path: 'cpu_cores', message: 'cluster Cluster1 has 188 cores free for running VMs; 196 more are asked' },
      ],
    });
    const snap = await core.changes.ask(vm, { action: 'snapshot_create', name: 'base', quiesce: false }, OWNER, 'view-9');
    expect(snap.kind).toBe('done');
    const restore = await core.changes.ask(
      vm,
      { action: 'snapshot_restore', snapshot: 'base', power_off: false, snapshotKey: (await core.changes.snapshot(vm, 'base')).key },
      OWNER,
      'view-10',
    );
    expect(restore).toMatchObject({
      kind: 'refused',
      errors: [{ path: 'snapshot', message: 'pol-06 is running: power it off first (a snapshot is restored in place only on a VM that is off)' }],
    });
    expect(puts()).toHaveLength(0);
  });
});
