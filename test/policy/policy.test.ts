/** The policy core: the file, evaluation, approvals and quotas — examples and properties. */
import fc from 'fast-check';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addApproval, type Approval } from '../../src/policy/approvals.js';
import { evaluate, type PolicyRequest } from '../../src/policy/evaluate.js';
import { builtinPolicy, loadPolicyFile, parsePolicyText } from '../../src/policy/load.js';
import { isIn } from '../../src/policy/members.js';
import { quotaStandings } from '../../src/policy/standing.js';
import { addUse, heldVmsIn, holdsVm, NO_USE, overQuota, useOf, useOfSpecs } from '../../src/policy/quota.js';
import { heldNow } from '../../src/workflows/decide.js';
import { policySchema, type Policy } from '../../src/policy/schema.js';
import type { VmSpec } from '../../src/vmspec/schema.js';
import { parseSpec } from '../../src/vmspec/validate.js';
import { RUN_STATES, type RunRecord } from '../../src/store/records.js';
import { readAuditRecords } from '../../src/store/audit.js';
import { MANIFESTS, provisioningRig, recipeSpec } from '../helpers/core.js';

const GPU = '1f67f07e-f653-db95-c475-01b8a2ea0ff1';

function vm(over: { name?: string; cluster?: string; cores?: number; ram?: string; disk?: string; gpu?: boolean } = {}): VmSpec {
  const parsed = parseSpec({
    vm: { name: over.name ?? 'vm-1', cluster: over.cluster ?? '2', cpu_cores: over.cores ?? 2, ram: over.ram ?? '4GiB' },
    drives: [{ name: 'OS', disksize: over.disk ?? '20GiB', preferred_tier: '1' }],
    nics: [],
    devices: over.gpu ? [{ resource_group: GPU }] : [],
    power_on: true,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.value;
}

const example = async (): Promise<Policy> => {
  const loaded = await loadPolicyFile(join(MANIFESTS, 'policy.example.yml'));
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.loaded.policy;
};

function request(specs: VmSpec[], over: Partial<PolicyRequest> = {}): PolicyRequest {
  return { specs, requester: 'U0ALICE', requesterIn: () => false, deviceKind: (d) => (d.resource_group === GPU ? 'gpu' : undefined), quotas: [], ...over };
}

describe('the policy file', () => {
  it('the shipped example validates; a broken file names file:line: field: message for every problem', async () => {
    const policy = await example();
    expect(policy.rules.map((r) => r.name)).toEqual([
      'retired-cluster',
      'gpu-two-owners',
      'big-batches-two-leads',
      'production',
      'small-lab-vms',
      'snapshots',
      'small-changes',
      'bigger-changes',
    ]);
    const broken = parsePolicyText(
      [
        'version: 1',
        'rules:',
        '  - name: a',
        '    when: { cluster: [1], vcpus: 3 }',
        '    auto: true',
        '    deny: no',
        '  - name: b',
        '    approve: { count: 2, from: ["@nobody"] }',
        '',
      ].join('\n'),
      'p.yml',
    );
    expect(broken).toEqual({
      ok: false,
      errors: expect.arrayContaining([
        'p.yml:4: rules[0].when.vcpus: unknown field (a typo? known fields are in manifests/policy.example.yml)',
        'p.yml:6: rules[0].deny: say why, in a few words the requester will read',
        'p.yml:8: rules[1].approve.from[0]: @nobody is not one of the groups defined under groups:',
      ]),
    });
    expect(parsePolicyText('version: 1\nrules: [\n', 'y.yml')).toMatchObject({ ok: false, errors: [expect.stringMatching(/^y\.yml:\d+: not valid YAML/)] });
    expect(await loadPolicyFile('/nonexistent/policy.yml', { optional: true })).toEqual({ ok: true, loaded: builtinPolicy() });
    expect(await loadPolicyFile('/nonexistent/policy.yml')).toMatchObject({ ok: false });
  });

  it('without a file, every request needs one approval from VM_APPROVERS', () => {
    const e = evaluate(builtinPolicy().policy, request([vm()]));
    expect(e).toMatchObject({ rule: 'default', decision: { kind: 'approve', count: 1, from: ['VM_APPROVERS'] } });
  });
});

describe('evaluation', () => {
  it('top-down, first match decides, and the trace says why earlier rules did not match', async () => {
    const policy = await example();
    const gpu = evaluate(policy, request([vm({ gpu: true })]));
    expect(gpu).toMatchObject({ rule: 'gpu-two-owners', decision: { kind: 'approve', count: 2, from: ['@gpu-owners'] } });
    expect(gpu.trace[0]).toEqual({ rule: 'retired-cluster', matched: false, why: 'cluster is 2, not 3' });
    expect(evaluate(policy, request([vm({ cluster: '3' })]))).toMatchObject({
      rule: 'retired-cluster',
      decision: { kind: 'deny', reason: 'Cluster 3 is being retired; choose cluster 1 or 2.' },
    });
    expect(evaluate(policy, request([vm({ cluster: '1' })])).rule).toBe('production');
    expect(evaluate(policy, request([vm()]))).toMatchObject({ decision: { kind: 'auto' }, leaseMaxMs: 30 * 86_400_000 });
    const big = evaluate(policy, request([vm({ cores: 8 })]));
    expect(big.rule).toBe('default');
    expect(big.trace.find((t) => t.rule === 'small-lab-vms')?.why).toBe('8 vCPU, not at most 4');
  });

  it("within_quota: a request over the requester's quota goes to approval instead of auto, saying which limit", async () => {
    const policy = await example();
    const limits = policy.quotas.per_user!;
    const held = useOfSpecs([vm({ cores: 4, ram: '16GiB' }), vm({ cores: 4, ram: '16GiB' }), vm({ cores: 4, ram: '16GiB' })]);
    const fits = evaluate(policy, request([vm({ cores: 4 })], { quotas: [{ who: 'you', limits, use: held }] }));
    expect(fits.decision.kind).toBe('auto');
    expect(fits.quota).toEqual([{ who: 'you', before: '12 of 16 vCPU, 48 GiB of 64 GiB RAM', after: '16 of 16 vCPU, 52 GiB of 64 GiB RAM', over: [] }]);
    const over = evaluate(policy, request([vm({ cores: 4 }), vm({ name: 'vm-2', cores: 4 })], { quotas: [{ who: 'you', limits, use: held }] }));
    expect(over.rule).toBe('default');
    expect(over.trace.find((t) => t.rule === 'small-lab-vms')?.why).toBe('over quota (you: 20 of 16 vCPU)');
  });

  it('group references: users, Slack groups, @names and VM_APPROVERS, without looping on a group that names itself', () => {
    const policy = policySchema.parse({ version: 1, groups: { a: ['@b', 'U1'], b: ['@a', 'S9'] } });
    const who = (user: string, groups: string[] = []) => ({ user, slackGroups: new Set(groups), vmApprovers: ['S7', 'U3'] });
    expect(isIn(policy, '@a', who('U1'))).toBe(true);
    expect(isIn(policy, '@a', who('U2', ['S9']))).toBe(true);
    expect(isIn(policy, '@b', who('U2'))).toBe(false);
    expect(isIn(policy, 'VM_APPROVERS', who('U3'))).toBe(true);
    expect(isIn(policy, 'VM_APPROVERS', who('U4', ['S7']))).toBe(true);
  });
});

describe('requester groups and group quotas', () => {
  it("requester_in matches by Slack group or @group, and a group quota counts every member's VMs", () => {
    const policy = policySchema.parse({
      version: 1,
      groups: { team: ['S0TEAM', 'U0BOB'] },
      quotas: { groups: { '@team': { vms: 2 } } },
      rules: [{ name: 'team-auto', when: { requester_in: ['@team'] }, within_quota: true, auto: true }],
    });
    const runOf = (actor: string, name: string) =>
      ({ id: `run-${name}`, state: 'succeeded', actor, keys: { vmKey: name }, steps: {}, spec: vm({ name }) }) as unknown as RunRecord;
    const runs = [runOf('U0ALICE', 'a-1'), runOf('U0BOB', 'b-1'), runOf('U0CAROL', 'c-1')];
    const alice = { user: 'U0ALICE', slackGroups: new Set(['S0TEAM']), vmApprovers: [] };
    const standings = quotaStandings(policy, heldVmsIn(runs), alice, (ref, actor) =>
      isIn(policy, ref, { user: actor, slackGroups: new Set(actor === 'U0ALICE' ? ['S0TEAM'] : []), vmApprovers: [] }),
    );
    expect(standings).toEqual([{ who: '@team', limits: { vms: 2 }, use: useOfSpecs([runs[0]!.spec, runs[1]!.spec]) }]);
    const asAlice = request([vm({ name: 'a-2' })], { requesterIn: (ref) => isIn(policy, ref, alice), quotas: standings });
    const decided = evaluate(policy, asAlice);
    expect(decided.rule).toBe('default');
    expect(decided.trace[0]).toEqual({ rule: 'team-auto', matched: false, why: 'over quota (@team: 3 of 2 VMs)' });
    const carol = evaluate(policy, request([vm()], { requesterIn: (ref) => isIn(policy, ref, { user: 'U0CAROL', slackGroups: new Set(), vmApprovers: [] }) }));
    expect(carol.trace[0]?.why).toBe('the requester is not in @team');
  });
});

describe('properties', () => {
  const users = fc.constantFrom('U0ALICE', 'U0BOB', 'U0CAROL', 'U0DAN', 'U0ERIN');

  it('the requester never counts, an approver counts once, and exactly N distinct eligible approvers complete it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ user: users, eligible: fc.boolean() }), { maxLength: 20 }),
        users,
        fc.integer({ min: 1, max: 4 }),
        (clicks, requester, needed) => {
          let approvals: Approval[] = [];
          let completedAt = -1;
          const counted = new Set<string>();
          clicks.forEach((click, i) => {
            const out = addApproval(approvals, { ...click, requester, needed, at: String(i) });
            if (out.kind === 'refused') {
              expect(click.user === requester || !click.eligible || counted.has(click.user)).toBe(true);
              return;
            }
            expect(click.user).not.toBe(requester);
            expect(click.eligible).toBe(true);
            counted.add(click.user);
            approvals = out.approvals;
            if (out.complete && completedAt < 0) completedAt = i;
            expect(out.complete).toBe(counted.size >= needed);
          });
          expect(new Set(approvals.map((a) => a.user)).size).toBe(approvals.length);
          expect(approvals.some((a) => a.user === requester)).toBe(false);
          if (completedAt >= 0) expect(new Set(approvals.slice(0, needed).map((a) => a.user)).size).toBe(needed);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a deny rule cannot be bypassed by a batch, whatever rules come before it', () => {
    const when = fc.record({
      count: fc.option(fc.record({ min: fc.integer({ min: 1, max: 5 }) }), { nil: undefined }),
      vcpu: fc.option(fc.record({ max: fc.integer({ min: 1, max: 8 }) }), { nil: undefined }),
    });
    const decision = fc.oneof(fc.constant({ auto: true as const }), fc.constant({ approve: { count: 1, from: ['VM_APPROVERS'] } }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(when, decision), { maxLength: 4 }),
        fc.array(fc.constantFrom('1', '2', '3'), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 8 }),
        (earlier, clusters, cores) => {
          const policy = policySchema.parse({
            version: 1,
            rules: [
              ...earlier.map(([w, d], i) => ({ name: `r${i}`, when: Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined)), ...d })),
              { name: 'no-cluster-3', when: { cluster: ['3'] }, deny: 'cluster 3 is closed' },
            ],
          });
          const specs = clusters.map((c, i) => vm({ name: `b-${i + 1}`, cluster: c, cores }));
          const batch = evaluate(policy, request(specs));
          const aloneDenied = specs.some((s) => evaluate(policy, request([s])).decision.kind === 'deny');
          if (aloneDenied) expect(batch.decision.kind).toBe('deny');
        },
      ),
      { numRuns: 500 },
    );
  });

  it("quota arithmetic never goes negative and matches a recount of the store's runs", () => {
    const run = fc.record({
      state: fc.constantFrom(...RUN_STATES),
      actor: users,
      cores: fc.integer({ min: 1, max: 64 }),
      ramGiB: fc.integer({ min: 1, max: 256 }),
      diskGiB: fc.integer({ min: 1, max: 500 }),
      vmKey: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(run, { maxLength: 30 }), users, (rows, who) => {
        const runs = rows.map(
          (r, i) =>
            ({
              id: `run-${i}`,
              state: r.state,
              actor: r.actor,
              keys: r.vmKey ? { vmKey: String(i) } : {},
              steps: {},
              spec: vm({ name: `q-${i}`, cores: r.cores, ram: `${r.ramGiB}GiB`, disk: `${r.diskGiB}GiB` }),
            }) as unknown as RunRecord,
        );
        const use = useOf(heldVmsIn(runs), [who]);
        for (const v of Object.values(use)) expect(v).toBeGreaterThanOrEqual(0);
        const mine = rows.filter(
          (r) => r.actor === who && (['pending', 'running', 'succeeded'].includes(r.state) || (['failed', 'cleaning_up'].includes(r.state) && r.vmKey)),
        );
        expect(use).toEqual({
          vcpu: mine.reduce((s, r) => s + r.cores, 0),
          ramMb: mine.reduce((s, r) => s + r.ramGiB * 1024, 0),
          diskBytes: mine.reduce((s, r) => s + r.diskGiB * 2 ** 30, 0),
          vms: mine.length,
        });
        expect(runs.filter(holdsVm).length).toBeGreaterThanOrEqual(mine.length);
        expect(addUse(use, NO_USE)).toEqual(use);
        expect(overQuota({ vcpu: use.vcpu }, use, NO_USE)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('quota counting against VergeOS', () => {
  it('a VM deleted outside the bot stops counting once noticed, with an audit record', async () => {
    const rig = await provisioningRig();
    try {
      const runs = await Promise.all(
        ['keep-01', 'gone-01'].map(async (n) =>
          rig.provisioner.execute((await rig.provisioner.createRun(await recipeSpec('iso-install', n), { actor: 'U0ALICE' })).id),
        ),
      );
      expect(runs.map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
      expect(useOf(heldNow(rig.store), ['U0ALICE']).vms).toBe(2);
      const gone = runs[1]!;
      rig.sim.state.vmAction({ vm: gone.keys.vmKey, action: 'kill' });
      rig.sim.state.deleteVm(gone.keys.vmKey!);
      rig.sim.state.createVm({ name: 'gone-01', cluster: '1', ram: 1024, cpu_cores: 1 }); // same name, someone else's VM
      const noticed = await rig.provisioner.noticeDeletedVms();
      expect(noticed.map((v) => v.runId)).toEqual([gone.id]);
      expect(useOf(heldNow(rig.store), ['U0ALICE'])).toEqual(useOfSpecs([runs[0]!.spec]));
      expect(await rig.provisioner.noticeDeletedVms()).toEqual([]);
      const records = [];
      for await (const r of readAuditRecords(rig.audit.file)) records.push(r);
      expect(records.filter((r) => r.action === 'run.vm_gone')).toEqual([
        expect.objectContaining({ runId: gone.id, detail: `VM key ${gone.keys.vmKey} no longer exists in VergeOS (deleted outside the bot)` }),
      ]);
    } finally {
      await rig.close();
    }
  });
});
