/**
 * Counting approvals, pure: N distinct approvers from the rule's set, never the requester; the
 * same approver twice counts once. The request's compare-and-set applies this to the stored
 * request, so the approval that completes the count is exactly one.
 */
export interface Approval {
  user: string;
  at: string;
}

export type ApprovalOutcome =
  { kind: 'counted'; approvals: Approval[]; complete: boolean } | { kind: 'refused'; reason: 'requester' | 'not_eligible' | 'already_counted' };

export function addApproval(
  approvals: readonly Approval[],
  input: { user: string; requester: string; eligible: boolean; needed: number; at: string },
): ApprovalOutcome {
  if (input.user === input.requester) return { kind: 'refused', reason: 'requester' };
  if (!input.eligible) return { kind: 'refused', reason: 'not_eligible' };
  if (approvals.some((a) => a.user === input.user)) return { kind: 'refused', reason: 'already_counted' };
  const next = [...approvals, { user: input.user, at: input.at }];
  return { kind: 'counted', approvals: next, complete: new Set(next.map((a) => a.user)).size >= input.needed };
}
