/**
 * Policy evaluation, pure: rules top-down against a request; the first that matches decides
 * `auto`, `approve` (N distinct approvers from a set, never the requester) or `deny`. A batch is
 * never allowed what one of its VMs alone would be denied. The trace says why each earlier rule
 * did not match, for `vmbot policy explain` and the approval message.
 */
import type { DeviceSpec, VmSpec } from '../vmspec/schema.js';
import { findResourceGroup } from '../vergeos/resource-groups.js';
import type { ResourceGroup } from '../vergeos/types.js';
import { formatBytes, formatMegabytes } from '../vmspec/units.js';
import { addUse, describeUse, overQuota, subtractUse, useOfSpecs, type QuotaUse } from './quota.js';
import { NEW_VM_ACTIONS, type DeviceKind, type Policy, type PolicyAction, type QuotaLimits, type Rule, type When } from './schema.js';

export type Decision = { kind: 'auto' } | { kind: 'approve'; count: number; from: string[] } | { kind: 'deny'; reason: string };

export interface QuotaStanding {
  /** `you` for the per-user quota, else the group reference. */
  who: string;
  limits: QuotaLimits;
  /** What is held before this request. */
  use: QuotaUse;
}

export interface PolicyRequest {
  /** What it does (default `create`): rules with `when.action` judge only those actions, rules without it only new VMs (`create`, `clone`). */
  action?: PolicyAction | undefined;
  /** A change: the VM as it is now, which `specs` (as it would be after) replaces for quotas. */
  replacing?: VmSpec | undefined;
  /** A change: the new disk it adds (on a tier, or in all), which `when.new_disk` judges. */
  newDiskBytes?: ((tier: string | undefined) => number) | undefined;
  recipe?: string | undefined;
  /** Every VM asked for (one, or a batch's). */
  specs: readonly VmSpec[];
  requester: string;
  /** Whether the requester is one of these (user id, S… group, @name): resolved by the caller. */
  requesterIn: (ref: string) => boolean;
  /** A device's kind, from its type or its resource group's (see deviceKinds). */
  deviceKind: (device: DeviceSpec) => DeviceKind | undefined;
  /** The quotas that apply to the requester (per user, and each group they are in). */
  quotas: QuotaStanding[];
}

export interface RuleTrace {
  rule: string;
  matched: boolean;
  /** Why it did not match (or what matched). */
  why: string;
}

export interface Evaluation {
  /** The rule that decided (`default` when none matched). */
  rule: string;
  decision: Decision;
  trace: RuleTrace[];
  /** Per quota: use before, after this request, and whether it fits. */
  quota: Array<{ who: string; before: string; after: string; over: string[] }>;
  /** The deciding rule's longest lease (ms); "until deleted" is not allowed when set. */
  leaseMaxMs?: number | undefined;
}

/** A device type's kind, from VergeOS's `type`. */
export function deviceKindOf(type: string): DeviceKind | undefined {
  const kinds: Record<string, DeviceKind> = {
    node_host_gpu_devices: 'gpu',
    node_nvidia_vgpu_devices: 'vgpu',
    node_pci_devices: 'pci',
    node_usb_devices: 'usb',
    node_sriov_nic_devices: 'sriov_nic',
    tpm: 'tpm',
  };
  return kinds[type];
}

/** Kinds of devices: the device's own type, else its resource group's type as VergeOS lists it. */
export function deviceKinds(groups: readonly ResourceGroup[]): (device: DeviceSpec) => DeviceKind | undefined {
  return (device) => deviceKindOf(device.type ?? findResourceGroup(groups, device.resource_group)?.type ?? '');
}

const inRange = (value: number, r: { min?: number | undefined; max?: number | undefined }) =>
  (r.min === undefined || value >= r.min) && (r.max === undefined || value <= r.max);
const showRange = (r: { min?: number | undefined; max?: number | undefined }, show: (n: number) => string) =>
  r.min !== undefined && r.max !== undefined ? `${show(r.min)}–${show(r.max)}` : r.min !== undefined ? `at least ${show(r.min)}` : `at most ${show(r.max!)}`;

/** Why one VM does not meet `when` (undefined: it does). */
function vmMisses(when: When, spec: VmSpec, request: PolicyRequest): string | undefined {
  if (when.recipe && !(request.recipe && when.recipe.includes(request.recipe)))
    return `recipe is ${request.recipe ?? '(none)'}, not ${when.recipe.join(' or ')}`;
  if (when.cluster && !(spec.vm.cluster !== undefined && when.cluster.includes(spec.vm.cluster)))
    return `cluster is ${spec.vm.cluster ?? 'the default'}, not ${when.cluster.join(' or ')}`;
  if (when.vcpu && !inRange(spec.vm.cpu_cores, when.vcpu)) return `${spec.vm.cpu_cores} vCPU, not ${showRange(when.vcpu, String)}`;
  if (when.ram && !inRange(spec.vm.ram * 1024 * 1024, when.ram)) return `${formatMegabytes(spec.vm.ram)} RAM, not ${showRange(when.ram, formatBytes)}`;
  if (when.new_disk) {
    const tier = when.new_disk.tier;
    const bytes =
      request.newDiskBytes?.(tier) ??
      spec.drives.reduce((sum, d) => sum + (d.media === 'disk' && (tier === undefined || (d.preferred_tier ?? '1') === tier) ? (d.disksize ?? 0) : 0), 0);
    if (!inRange(bytes, when.new_disk)) return `${formatBytes(bytes)} new disk${tier ? ` on tier ${tier}` : ''}, not ${showRange(when.new_disk, formatBytes)}`;
  }
  if (when.devices) {
    const kinds = spec.devices.map((d) => request.deviceKind(d));
    const passthrough = spec.devices.filter((d) => d.type !== 'tpm').length;
    if (when.devices === 'none' && passthrough) return `it has ${passthrough} device(s)`;
    if (when.devices === 'any' && !passthrough) return 'it has no devices';
    if (Array.isArray(when.devices) && !kinds.some((k) => k !== undefined && (when.devices as string[]).includes(k)))
      return `no ${when.devices.join('/')} device`;
  }
  return undefined;
}

/** Why the request does not meet `when`. All VMs must meet it for `auto`; any one for approve/deny. */
function requestMisses(rule: Rule, request: PolicyRequest): string | undefined {
  const when = rule.when;
  const action = request.action ?? 'create';
  if (when.action ? !when.action.includes(action) : !(NEW_VM_ACTIONS as readonly PolicyAction[]).includes(action))
    return when.action ? `it is ${action}, not ${when.action.join(' or ')}` : `it is about new VMs, not ${action}`;
  if (when.count && !inRange(request.specs.length, when.count)) return `${request.specs.length} VM(s), not ${showRange(when.count, String)}`;
  if (when.requester_in && !when.requester_in.some((ref) => request.requesterIn(ref))) return `the requester is not in ${when.requester_in.join(', ')}`;
  const misses = request.specs.map((s) => vmMisses(when, s, request));
  if (rule.auto) return misses.find((m) => m !== undefined);
  return misses.every((m) => m !== undefined) ? misses[0] : undefined;
}

function quotaReport(request: PolicyRequest): Evaluation['quota'] {
  const replacing = request.replacing;
  const adding = replacing ? subtractUse(useOfSpecs(request.specs), useOfSpecs([replacing])) : useOfSpecs(request.specs);
  return request.quotas.map((q) => ({
    who: q.who,
    before: describeUse(q.limits, q.use),
    after: describeUse(q.limits, addUse(q.use, adding)),
    over: overQuota(q.limits, q.use, adding, replacing !== undefined),
  }));
}

function decisionOf(rule: Pick<Rule, 'auto' | 'approve' | 'deny'>): Decision {
  if (rule.deny !== undefined) return { kind: 'deny', reason: rule.deny };
  if (rule.approve) return { kind: 'approve', count: rule.approve.count, from: rule.approve.from };
  return { kind: 'auto' };
}

function topDown(policy: Policy, request: PolicyRequest, quota: Evaluation['quota']): Evaluation {
  const trace: RuleTrace[] = [];
  for (const rule of policy.rules) {
    const missed = requestMisses(rule, request);
    if (missed) {
      trace.push({ rule: rule.name, matched: false, why: missed });
      continue;
    }
    if (rule.within_quota) {
      const over = quota.flatMap((q) => q.over.map((o) => `${q.who}: ${o}`));
      if (over.length) {
        trace.push({ rule: rule.name, matched: false, why: `over quota (${over.join('; ')})` });
        continue;
      }
    }
    trace.push({ rule: rule.name, matched: true, why: 'every condition holds' });
    return { rule: rule.name, decision: decisionOf(rule), trace, quota, ...(rule.lease_max ? { leaseMaxMs: rule.lease_max } : {}) };
  }
  trace.push({ rule: 'default', matched: true, why: 'no rule matched' });
  return { rule: 'default', decision: decisionOf(policy.default), trace, quota };
}

export function evaluate(policy: Policy, request: PolicyRequest): Evaluation {
  const quota = quotaReport(request);
  if (request.specs.length > 1) {
    // What any one VM alone would be denied, the batch is denied too (a count condition or an
    // earlier rule cannot open a way around a deny).
    for (const spec of request.specs) {
      const alone = topDown(policy, { ...request, specs: [spec] }, quotaReport({ ...request, specs: [spec] }));
      if (alone.decision.kind === 'deny')
        return { ...alone, trace: [...alone.trace, { rule: alone.rule, matched: true, why: `denies ${spec.vm.name} on its own, so the whole batch` }], quota };
    }
  }
  return topDown(policy, request, quota);
}
