/**
 * Who may see a request: its requester, whoever approved or decided it, whoever the policy lets
 * decide it, and the leads (VM_APPROVERS). Everyone else is answered exactly as for a request that
 * does not exist: request numbers are sequential, so "not yours" would let anyone probe them.
 */
import type { RequestRecord } from '../store/records.js';
import type { BotContext } from './context.js';
import { mayDecide } from './policy.js';

type Ctx = Pick<BotContext, 'policy' | 'approvers' | 'slack' | 'env' | 'store'>;

export async function maySee(ctx: Ctx, request: Pick<RequestRecord, 'requester' | 'approvals' | 'decidedBy' | 'policy'>, user: string): Promise<boolean> {
  if (request.requester === user || request.decidedBy === user || request.approvals.some((a) => a.user === user)) return true;
  // Slack lookups (cached) only for everyone else.
  return (await ctx.approvers.isApprover(ctx.slack, user)) || mayDecide(ctx, request, user);
}

/** The answer for a request that does not exist, or that the asker may not see (the same words). */
export const noSuchRequest = (id: string): string => `There is no request ${id}.`;
