/**
 * People, groups and decisions the core hands over as ids, rendered as Slack mentions: the core
 * speaks in data, and only this edge writes `<@U…>` and `<!subteam^S…>`.
 */
import { describeFrom } from '../policy/members.js';
import { RequestError } from '../requests/errors.js';
import { decidedVerb, decider } from '../requests/request-facts.js';
import type { RequestRecord } from '../store/records.js';

/** A user id, a Slack user group id, or a policy group (`@name`), as Slack shows it. */
export function mentionRef(ref: string): string {
  if (ref.startsWith('@')) return ref;
  return ref.startsWith('S') ? `<!subteam^${ref}>` : `<@${ref}>`;
}

/** "<@U1>, <!subteam^S2>, @gpu-owners": who a rule's `from` names. */
export function mentionFrom(from: readonly string[], vmApprovers: readonly string[]): string {
  return describeFrom(from, vmApprovers, mentionRef);
}

/** The sentence for "you can't do that now", naming who decided (a person mentioned, or the rule). */
export function alreadyDecidedText(request: RequestRecord): string {
  if (request.state === 'expired') return `${request.id} expired before anyone decided; nothing was changed.`;
  if (request.state === 'cancelled') return `${request.id} was cancelled by its requester; nothing was changed.`;
  const who = decider(request);
  const by = who === undefined ? '' : 'rule' in who ? ` by rule ${who.rule}` : ` by <@${who.user}>`;
  return `${request.id} was already ${decidedVerb(request.state)}${by}; nothing was changed.`;
}

/** A refusal of the request lifecycle in Slack's words (people mentioned). */
export function requestRefusalText(err: RequestError): string {
  const request = err.request;
  if (request && err.code === 'REQUEST_ALREADY_DECIDED') return alreadyDecidedText(request);
  if (request && err.code === 'REQUEST_NOT_REQUESTER') return `Only <@${request.requester}>, who asked for ${request.id}, can cancel it.`;
  return err.message;
}
