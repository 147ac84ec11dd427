/**
 * Copies through the core's workflow, as Slack asks them: filed as `clone` requests through the
 * same filing as new VMs — the creation rules judge them (and rules for clones only them), a deny
 * refuses, quotas count the copy like any new VM, the name is reserved and must be free — and
 * once approved run as one clone call and power on, ending as a VM of the requester's with its own lease.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Core } from '../../src/compose.js';
import { requestPlan } from '../../src/requests/requests.js';
import { renderPlanText } from '../../src/plan/render.js';
import { readAuditRecords, type AuditRecord } from '../../src/store/audit.js';
import type { RequestRecord, VmRecord } from '../../src/store/records.js';
import type { VergeosSim } from '../../src/sim/index.js';
import type { FilingOutcome } from '../../src/workflows/file-request.js';
import { recipeSpec } from '../helpers/core.js';
import { policyCore } from '../helpers/policy-core.js';

const OWNER = 'UOWNER';
const OTHER = 'UOTHER';
const CONTRACTOR = 'UCONTRACTOR';
const LEAD = 'ULEAD1';
const DAY = 86_400_000;
const POLICY = `version: 1
quotas:
  per_user: { vcpu: 10 }
rules:
  - name: no-copies-for-contractors
    when: { action: [clone], requester_in: [${CONTRACTOR}] }
    deny: copies of VMs are not for contractors
  - name: small-new-vms
    when: { vcpu: { max: 4 } }
    within_quota: true
    auto: true
    lease_max: 14d
`;

describe('copies filed and made as new VMs', () => {
  let sim: VergeosSim;
  let core: Core;
  let dir: string;
  let done: () => Promise<void>;

  beforeEach(async () => {
    const rig = await policyCore(POLICY, LEAD, { preflightMs: 5_000 });
    ({ core, sim, dir } = rig);
    done = rig.close;
  });
  afterEach(() => done());

  /** A VM made for OWNER (4 vCPU, 8 GiB: the web-server recipe), kept a week (up to 30 days) unless `forever`. */
  async function made(name: string, forever = false): Promise<VmRecord> {
    const lease = forever ? {} : { lease: { forMs: 7 * DAY, maxMs: 30 * DAY } };
    const run = await core.provisioner.execute((await core.provisioner.createRun(await recipeSpec('web-server', name), { actor: OWNER, ...lease })).id);
    expect(run.state).toBe('succeeded');
    sim.requests.length = 0;
    return core.provisioner.ownedVm(run.id)!;
  }
  const filed = (outcome: FilingOutcome): RequestRecord => {
    if (outcome.kind !== 'filed') throw new Error(JSON.stringify(outcome));
    return outcome.request;
  };
  const auditRecords = async (): Promise<AuditRecord[]> => {
    const records: AuditRecord[] = [];
    for await (const record of readAuditRecords(join(dir, 'audit.jsonl'))) records.push(record);
    return records;
  };
  const ask = (vm: VmRecord, name: string, who: string, view: string) => core.clones.ask(vm, name, who, { sourceViewId: view, unlimited: false });

  it('a creation rule approves a copy without a click; it is made by one clone call and power on, owned by the requester with its own lease', async () => {
    const vm = await made('orig-01');
    const request = filed(await ask(vm, ' orig-01-copy ', OTHER, 'view-1'));
    expect(request).toMatchObject({
      kind: 'clone',
      state: 'approved',
      requester: OTHER,
      decidedBy: 'policy:small-new-vms',
      clone: { runId: vm.runId, vmKey: vm.keys.vmKey, name: 'orig-01' },
      spec: { ...vm.spec, vm: { ...vm.spec.vm, name: 'orig-01-copy' }, power_on: true },
      // The source's terms, its maximum held to the rule's.
      lease: { forMs: 7 * DAY, maxMs: 14 * DAY },
      policy: { rule: 'small-new-vms', decision: 'auto', quota: ['Quota: 0 of 10 vCPU now; 4 of 10 vCPU with this'] },
    });
    expect(renderPlanText(requestPlan(request)).split('\n').slice(0, 3)).toEqual([
      'Plan for VM orig-01-copy (2 steps)',
      `   1. POST /api/v4/vm_actions  clone VM orig-01 (VM key ${vm.keys.vmKey}) as orig-01-copy: its drives and NICs copied, new MAC addresses`,
      '   2. POST /api/v4/vm_actions  power on',
    ]);
    // The same form delivered again: the same request.
    expect(await ask(vm, 'orig-01-copy', OTHER, 'view-1')).toMatchObject({ kind: 'filed', created: false, request: { id: request.id } });

    await core.execution.startApproved(request, 'policy:small-new-vms');
    await core.execution.idle();
    expect(core.requests.get(request.id)).toMatchObject({ state: 'succeeded' });
    const [run] = core.provisioner.runsForRequest(request.id);
    expect(run).toMatchObject({ state: 'succeeded', actor: OTHER, clone: { vmKey: vm.keys.vmKey, name: 'orig-01' } });
    expect(sim.requests.filter((r) => r.method !== 'GET').map((r) => [r.route, (r.body as { action: string }).action])).toEqual([
      ['POST /vm_actions', 'clone'],
      ['POST /vm_actions', 'poweron'],
    ]);
    const copy = core.provisioner.ownedVm(run!.id)!;
    expect(copy).toMatchObject({ name: 'orig-01-copy', owner: OTHER, requestId: request.id, keys: run!.keys, lease: { forMs: 7 * DAY, maxMs: 14 * DAY } });
    expect(core.provisioner.ownedVm(vm.runId)).toMatchObject({ owner: OWNER, lease: { forMs: 7 * DAY, maxMs: 30 * DAY } });
    const audit = await auditRecords();
    expect(audit.find((r) => r.action === 'request.created' && r.requestId === request.id)?.detail).toBe(
      `a copy of orig-01 (VM key ${vm.keys.vmKey}) named orig-01-copy, 4 vCPU, 8 GiB RAM, 1 drive (100 GiB new disk), 1 NIC; approved by rule small-new-vms (policy ${request.policy!.hash})`,
    );
  });

  it('a copy of a VM kept until deleted is kept as long as the rule allows, and the lead is told', async () => {
    const vm = await made('forever-01', true);
    const request = filed(await ask(vm, 'forever-01-copy', OWNER, 'view-2'));
    expect(request).toMatchObject({ state: 'approved', lease: { forMs: 14 * DAY, maxMs: 14 * DAY } });
    expect(request.warnings).toEqual(['Kept 2 weeks at most under rule small-new-vms.']);
  });

  it('a deny rule for clones refuses the copy (on the audit trail); the same person may still make a new VM', async () => {
    const vm = await made('orig-02');
    expect(await ask(vm, 'contractor-copy', CONTRACTOR, 'view-3')).toEqual({
      kind: 'refused',
      errors: [{ path: 'vm.name', message: 'Not allowed by the approval policy (rule no-copies-for-contractors): copies of VMs are not for contractors' }],
    });
    expect(core.requests.byRequester(CONTRACTOR)).toEqual([]);
    const audit = await auditRecords();
    expect(audit.filter((r) => r.action === 'request.denied_by_policy').map((r) => [r.actor, r.vmName])).toEqual([[CONTRACTOR, 'contractor-copy']]);
    const fresh = await core.filing.file({
      requester: CONTRACTOR,
      unlimited: false,
      specs: [await recipeSpec('web-server', 'contractor-new')],
      lease: { forMs: DAY },
    });
    expect(filed(fresh)).toMatchObject({ kind: 'vm', state: 'approved', policy: { rule: 'small-new-vms' } });
  });

  it('quotas count a copy like any new VM: the copy that would pass the quota goes to a lead', async () => {
    const vm = await made('orig-03');
    // OWNER holds 4 of 10 vCPU; a first copy makes 8 (approved, not made yet: it counts already).
    expect(filed(await ask(vm, 'orig-03-a', OWNER, 'view-4'))).toMatchObject({ state: 'approved', policy: { rule: 'small-new-vms' } });
    const second = filed(await ask(vm, 'orig-03-b', OWNER, 'view-5'));
    expect(second).toMatchObject({ kind: 'clone', state: 'pending', policy: { rule: 'default', decision: 'approve', from: ['VM_APPROVERS'] } });
    expect(second.policy!.quota).toEqual(['Quota: 8 of 10 vCPU now; 12 of 10 vCPU with this (over: 12 of 10 vCPU)']);
    // Approved by a lead, it is made as any request is.
    const approved = await core.requests.approve(second.id, LEAD);
    await core.execution.startApproved(approved.request, LEAD);
    await core.execution.idle();
    expect(core.requests.get(second.id).state).toBe('succeeded');
    expect(core.provisioner.vmsOwnedBy(OWNER).map((v) => v.name)).toEqual(['orig-03', 'orig-03-b']);
  });

  it('the name must be valid, not asked for by another live request, and free in VergeOS; nothing is filed otherwise', async () => {
    const vm = await made('orig-04');
    const pending = filed(await ask(vm, 'orig-04-x', OTHER, 'view-6'));
    expect(await ask(vm, 'orig-04-x', OWNER, 'view-7')).toEqual({
      kind: 'refused',
      errors: [{ path: 'vm.name', message: `orig-04-x is already asked for by ${pending.id}, which is not finished; pick another name` }],
    });
    expect(await ask(vm, 'orig-04', OWNER, 'view-8')).toEqual({
      kind: 'refused',
      errors: [{ path: 'vm.name', message: `orig-04 is already taken in VergeOS (VM key ${vm.keys.vmKey}); pick another name` }],
    });
    expect(await ask(vm, 'no/slashes', OWNER, 'view-9')).toMatchObject({
      kind: 'refused',
      errors: [{ path: 'vm.name', message: expect.stringContaining('may only contain') }],
    });
    expect(core.requests.byRequester(OWNER)).toEqual([]);
    expect(sim.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('a VM being deleted cannot be copied', async () => {
    const vm = await made('orig-05');
    await core.vms.decommission(vm, OWNER);
    const gone = core.store.getVm(vm.id)!;
    expect(await ask(gone, 'orig-05-copy', OWNER, 'view-10')).toEqual({
      kind: 'refused',
      errors: [{ path: 'vm.name', message: 'orig-05 is deleted, so it cannot be copied' }],
    });
  });
});
