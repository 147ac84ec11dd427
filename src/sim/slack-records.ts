/**
 * What the Slack stand-in keeps and answers with: users, messages, ephemerals, views and calls as
 * Slack shapes them, the error a Web API method answers `{ok:false,error}` with, and reading a
 * call's arguments as Slack's WebClient sends them.
 */

export interface SlackUser {
  id: string;
  name: string;
  real_name: string;
  /** The user's home team (another one for Slack Connect users). */
  team_id: string;
  is_restricted: boolean;
  is_ultra_restricted: boolean;
  is_bot: boolean;
  deleted: boolean;
}

export interface SlackMessage {
  channel: string;
  ts: string;
  thread_ts?: string | undefined;
  user: string;
  text: string;
  blocks: unknown[];
  edited?: boolean;
}

export interface SlackEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks: unknown[];
  message_ts: string;
}

export interface SlackView {
  id: string;
  hash: string;
  user: string;
  type: 'modal' | 'home';
  view: Record<string, unknown>;
  /** Earlier views of the same stack (views.push). */
  stack: string[];
  closed?: boolean;
}

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  ok: boolean;
  error?: string;
  /** HTTP status when not 200 (429: over Slack's rate limit). */
  status?: number;
  /** When it arrived (ms since the epoch). */
  at: number;
}

/** A Web API method's refusal: Slack's `error` string, answered as `{ok:false,error}`. */
export class SlackMethodError extends Error {
  constructor(readonly error: string) {
    super(error);
  }
}

export interface SlackSimOptions {
  botToken?: string;
  port?: number;
  /**
   * Slack's published rate limits (src/slack/rate-limits.ts) are enforced: a call over its
   * method's (or, for chat.postMessage, its channel's) limit gets HTTP 429 `ratelimited` with
   * Retry-After, as Slack answers. `rateFactor` multiplies the allowed rates (tests and the demo
   * run faster than Slack; 1 = Slack's own). `rateLimits: false` turns enforcement off.
   */
  rateFactor?: number;
  rateLimits?: boolean;
}

/** A method's required argument, or Slack's `invalid_arguments` when it is missing or empty. */
export function required(a: Record<string, unknown>, name: string): unknown {
  if (a[name] === undefined || a[name] === '') throw new SlackMethodError('invalid_arguments');
  return a[name];
}

/** Slack's WebClient sends form fields, with blocks/view/etc. as JSON strings. */
export function parseArgs(contentType: string, raw: string): Record<string, unknown> {
  let flat: Record<string, unknown>;
  if (contentType.includes('application/json')) flat = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  else flat = Object.fromEntries(new URLSearchParams(raw));
  for (const key of ['blocks', 'view', 'attachments']) {
    const v = flat[key];
    if (typeof v === 'string') {
      try {
        flat[key] = JSON.parse(v);
      } catch {
        // leave as is; the method will refuse it
      }
    }
  }
  return flat;
}
