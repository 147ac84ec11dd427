/**
 * The approval policy, as the Slack app applies it: who the requester is (their Slack user
 * groups, resolved and cached), what their VMs hold, what the policy decides for a request, and
 * whether a clicker may approve a given request (checked at click time against the rule's set).
 */
import type { QuotaStanding } from '../policy/evaluate.js';
import type { LoadedPolicy } from '../policy/load.js';
import { isIn, slackGroupsIn, type Membership } from '../policy/members.js';
import { mentionFrom } from './mentions.js';
import { quotaStandings } from '../policy/standing.js';
import { describeUse } from '../policy/quota.js';
import type { RequestRecord } from '../store/records.js';
import { heldNow, type People } from '../workflows/decide.js';
import type { BotContext } from './context.js';

type Ctx = Pick<BotContext, 'policy' | 'approvers' | 'slack' | 'env' | 'store'>;

/** The Slack user groups (of those the policy and VM_APPROVERS name) each user is in. */
async function groupIndex(ctx: Ctx, policy: LoadedPolicy, forDecision = false): Promise<Map<string, Set<string>>> {
  const groups = slackGroupsIn(policy.policy, ctx.env.VM_APPROVERS);
  const members = await Promise.all(groups.map((g) => (forDecision ? ctx.approvers.membersForDecision(ctx.slack, g) : ctx.approvers.members(ctx.slack, g))));
  return new Map(groups.map((g, i) => [g, members[i]!]));
}

function membership(index: Map<string, Set<string>>, user: string, vmApprovers: readonly string[]): Membership {
  return { user, slackGroups: new Set([...index].filter(([, members]) => members.has(user)).map(([g]) => g)), vmApprovers };
}

/** Who `user` is under the policy in force, and the quotas that apply to them with what is held now. */
async function standingOf(ctx: Ctx, loaded: LoadedPolicy, user: string): Promise<{ who: Membership; quotas: QuotaStanding[] }> {
  const index = await groupIndex(ctx, loaded);
  const who = membership(index, user, ctx.env.VM_APPROVERS);
  const held = heldNow(ctx.store);
  const quotas = quotaStandings(loaded.policy, held, who, (ref, actor) => isIn(loaded.policy, ref, membership(index, actor, ctx.env.VM_APPROVERS)));
  return { who, quotas };
}

export async function membershipOf(ctx: Ctx, user: string): Promise<Membership> {
  return membership(await groupIndex(ctx, ctx.policy.current), user, ctx.env.VM_APPROVERS);
}

/** Who `user` is under `loaded`, and who else is in a group (for group quotas), for the filing workflow. */
export async function peopleUnder(ctx: Ctx, loaded: LoadedPolicy, user: string): Promise<People> {
  const index = await groupIndex(ctx, loaded, true);
  return {
    who: membership(index, user, ctx.env.VM_APPROVERS),
    has: (ref, actor) => isIn(loaded.policy, ref, membership(index, actor, ctx.env.VM_APPROVERS)),
  };
}

/** Whether `user` is in the set that may approve (or reject) this request. */
export async function mayDecide(ctx: Ctx, request: Pick<RequestRecord, 'policy'>, user: string): Promise<boolean> {
  const from = request.policy?.from ?? ['VM_APPROVERS'];
  const who = await membershipOf(ctx, user);
  return from.some((ref) => isIn(ctx.policy.current.policy, ref, who));
}

/** "2 of @gpu-owners" / "one of <!subteam^S0LEADS>" for messages. */
export function whoMayApprove(request: Pick<RequestRecord, 'policy'>, vmApprovers: readonly string[]): string {
  const count = request.policy?.count ?? 1;
  const from = mentionFrom(request.policy?.from ?? ['VM_APPROVERS'], vmApprovers);
  return count === 1 ? `one of ${from}` : `${count} of ${from}`;
}

/** "Your quota: 2 of 16 vCPU, 4 GiB of 64 GiB RAM" for the form; undefined when the policy sets none that apply. */
export async function quotaNote(ctx: Ctx, user: string): Promise<string | undefined> {
  const loaded = ctx.policy.current;
  if (!loaded.policy.quotas.per_user && !Object.keys(loaded.policy.quotas.groups).length) return undefined;
  const { quotas: standings } = await standingOf(ctx, loaded, user);
  if (!standings.length) return undefined;
  return standings
    .map((q) => `:bar_chart: ${q.who === 'you' ? 'Your quota' : `Quota of ${q.who}`} (VMs made through the bot): ${describeUse(q.limits, q.use)}`)
    .join('\n');
}
