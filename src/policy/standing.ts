/** The quotas that apply to a requester, with what their VMs (and their groups' VMs) hold now. */
import type { QuotaStanding } from './evaluate.js';
import { isIn, type Membership } from './members.js';
import { useOf, type HeldVms } from './quota.js';
import type { Policy } from './schema.js';

/**
 * `groupHas(ref)` says whether an actor (a Slack user id) is in a group, for counting what the
 * group's members hold; `who` is the requester.
 */
export function quotaStandings(policy: Policy, held: HeldVms, who: Membership, groupHas: (ref: string, actor: string) => boolean): QuotaStanding[] {
  const standings: QuotaStanding[] = [];
  if (policy.quotas.per_user) standings.push({ who: 'you', limits: policy.quotas.per_user, use: useOf(held, [who.user]) });
  for (const [ref, limits] of Object.entries(policy.quotas.groups)) {
    if (!isIn(policy, ref, who)) continue;
    standings.push({
      who: ref,
      limits,
      use: useOf(
        held,
        [...held.owners()].filter((actor) => actor === who.user || groupHas(ref, actor)),
      ),
    });
  }
  return standings;
}
