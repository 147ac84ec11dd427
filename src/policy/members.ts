/**
 * Who is in a reference: a Slack user (U…), a Slack user group (S…), a policy group (@name,
 * whose members are references too) or VM_APPROVERS (the environment's list). Pure: the caller
 * says which Slack user groups the user is in (resolved through Slack, or given on the CLI).
 */
import type { Policy } from './schema.js';

export interface Membership {
  user: string;
  /** Slack user groups (S…) the user is a member of. */
  slackGroups: ReadonlySet<string>;
  /** VM_APPROVERS from the environment. */
  vmApprovers: readonly string[];
}

export function isIn(policy: Policy, ref: string, who: Membership, seen: Set<string> = new Set()): boolean {
  if (seen.has(ref)) return false; // a group that names itself, directly or not
  seen.add(ref);
  if (ref === who.user) return true;
  if (ref.startsWith('S')) return who.slackGroups.has(ref);
  if (ref === 'VM_APPROVERS') return who.vmApprovers.some((r) => isIn(policy, r, who, seen));
  if (ref.startsWith('@')) return (policy.groups[ref.slice(1)] ?? []).some((r) => isIn(policy, r, who, seen));
  return false;
}

/** Every Slack user group a policy mentions (to resolve whose member the user is). */
export function slackGroupsIn(policy: Policy, vmApprovers: readonly string[]): string[] {
  const refs = [
    ...Object.values(policy.groups).flat(),
    ...policy.rules.flatMap((r) => [...(r.approve?.from ?? []), ...(r.when.requester_in ?? [])]),
    ...Object.keys(policy.quotas.groups),
    ...policy.default.approve.from,
    ...vmApprovers,
  ];
  return [...new Set(refs.filter((r) => r.startsWith('S')))];
}

/**
 * Who `from` names, as plain text for a terminal ("U1, Slack group S2, @gpu-owners"); the Slack
 * edge renders the same refs as mentions (`slack/mentions.ts`).
 */
export function describeFrom(from: readonly string[], vmApprovers: readonly string[], render: (ref: string) => string = plainRef): string {
  return from.map((ref) => (ref === 'VM_APPROVERS' ? vmApprovers.map(render).join(', ') || 'VM_APPROVERS' : render(ref))).join(', ');
}

/** A user id, a Slack user group id, or a policy group (`@name`), in plain words. */
export function plainRef(ref: string): string {
  if (ref.startsWith('@')) return ref;
  return ref.startsWith('S') ? `Slack group ${ref}` : ref;
}
