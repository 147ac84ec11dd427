/**
 * A loopback stand-in for the Slack Web API methods the bot calls, with state: users, a user
 * group of leads, channels, messages with threads, ephemeral messages, open views and trigger
 * ids. It checks what Slack checks where the bot could get it wrong — the bot token, required
 * arguments, trigger_id single use and 3 s expiry, view limits, view hashes — and answers
 * `{ok:false,error}` as Slack does. Point the bot at it with SLACK_API_URL=<url>/api/.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homeViewSchema, messageSchema, modalViewSchema } from '../slack/limits.js';
import { bucketKey, SLACK_RATE_LIMITS, TokenBucket } from '../slack/rate-limits.js';

import { SLACK_SIM, SLACK_SIM_BOT_TOKEN } from './slack-constants.js';
import { text as asText } from '../text.js';

export { SLACK_SIM, SLACK_SIM_BOT_TOKEN, SLACK_SIM_SIGNING_SECRET } from './slack-constants.js';

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

class SlackApiError extends Error {
  constructor(readonly error: string) {
    super(error);
  }
}

const TRIGGER_TTL_MS = 3_000;

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

/** A workspace member with nothing restricted: the users the stand-in knows are these unless marked. */
const FULL_MEMBER = { team_id: SLACK_SIM.team, is_restricted: false, is_ultra_restricted: false, is_bot: false, deleted: false } as const;

export class SlackSim {
  readonly users = new Map<string, SlackUser>();
  readonly usergroups = new Map<string, string[]>();
  readonly channels = new Set<string>();
  readonly messages: SlackMessage[] = [];
  readonly ephemerals: SlackEphemeral[] = [];
  readonly views = new Map<string, SlackView>();
  readonly calls: SlackCall[] = [];
  /** `message` after every message posted or edited, `view` after every view opened or changed (for waiting without polling). */
  readonly events = new EventEmitter();
  /** Per method, fail the next calls with this error (e.g. `ratelimited`). */
  readonly failNext = new Map<string, string[]>();
  #triggers = new Map<string, { issuedAt: number; used: boolean; user: string }>();
  #server: Server;
  #clock = 1_700_000_000_000;
  #url = '';

  /** Buckets per method (per method and channel for chat.postMessage), created on first use. */
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(private readonly options: SlackSimOptions = {}) {
    const plain = FULL_MEMBER;
    for (const [id, name, extra] of [
      [SLACK_SIM.requester, 'riley.requester', {}],
      [SLACK_SIM.lead1, 'lee.lead', {}],
      [SLACK_SIM.lead2, 'lou.lead', {}],
      [SLACK_SIM.bystander, 'bo.bystander', {}],
      [SLACK_SIM.guest, 'gil.guest', { is_restricted: true }],
      [SLACK_SIM.singleChannelGuest, 'sam.singlechannel', { is_restricted: true, is_ultra_restricted: true }],
      [SLACK_SIM.external, 'ezra.external', { team_id: SLACK_SIM.otherTeam }],
      [SLACK_SIM.bot, 'vmbot', { is_bot: true }],
    ] as const) {
      this.users.set(id, { id, name, real_name: name.replace('.', ' '), ...plain, ...extra });
    }
    this.usergroups.set(SLACK_SIM.leadsGroup, [SLACK_SIM.lead1, SLACK_SIM.lead2]);
    this.usergroups.set(SLACK_SIM.devsGroup, [SLACK_SIM.requester]);
    for (const c of [SLACK_SIM.approvalChannel, SLACK_SIM.auditChannel, SLACK_SIM.generalChannel]) this.channels.add(c);
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  /** More full members of the workspace (benchmarks' requesters). */
  addMembers(ids: readonly string[]): void {
    for (const id of ids) this.users.set(id, { id, name: id.toLowerCase(), real_name: id, ...FULL_MEMBER });
  }

  /** Base for SLACK_API_URL, e.g. `http://127.0.0.1:4567/api/`. */
  get apiUrl(): string {
    return `${this.#url}/api/`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(this.options.port ?? 0, '127.0.0.1', () => resolve()));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** A trigger id for a user action (valid once, for 3 s), as Slack issues with each interaction. */
  issueTrigger(user: string): string {
    const id = `${Date.now()}.${randomBytes(4).toString('hex')}`;
    this.#triggers.set(id, { issuedAt: Date.now(), used: false, user });
    return id;
  }

  // ---- reading state (for drivers and tests) --------------------------------------------------

  channelMessages(channel: string): SlackMessage[] {
    return this.messages.filter((m) => m.channel === channel && !m.thread_ts);
  }

  thread(channel: string, ts: string): SlackMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.thread_ts === ts);
  }

  dmChannel(user: string): string {
    return `D${user.slice(1)}`;
  }

  dms(user: string): SlackMessage[] {
    return this.messages.filter((m) => m.channel === this.dmChannel(user));
  }

  /** The view most recently opened (or updated) for a user, if still open. */
  openView(user: string, type: 'modal' | 'home' = 'modal'): SlackView | undefined {
    const ids = this.#viewsOf.get(`${user}|${type}`) ?? [];
    for (let i = ids.length - 1; i >= 0; i--) {
      const view = this.views.get(ids[i]!);
      if (view && !view.closed) return view;
    }
    return undefined;
  }

  /** Each user's views by type, oldest first (so finding the open one does not scan everyone's). */
  readonly #viewsOf = new Map<string, string[]>();

  closeView(id: string): void {
    const view = this.views.get(id);
    if (view) view.closed = true;
  }

  callsTo(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  // ---- the Web API ----------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await new Promise<string>((resolve) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => resolve(body));
    });
    if ((req.url ?? '').startsWith('/__sim/')) return this.#control(req.method ?? 'GET', req.url ?? '', raw, res);
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const args = parseArgs(req.headers['content-type'] ?? '', raw);
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '') || asText(args.token ?? '');
    const call: SlackCall = { method, args, ok: true, at: Date.now() };
    this.calls.push(call);
    let result: Record<string, unknown>;
    try {
      if (token !== (this.options.botToken ?? SLACK_SIM_BOT_TOKEN)) throw new SlackApiError(token ? 'invalid_auth' : 'not_authed');
      const retryAfter = this.#overLimit(method, args);
      if (retryAfter !== undefined) {
        call.ok = false;
        call.error = 'ratelimited';
        call.status = 429;
        const body = JSON.stringify({ ok: false, error: 'ratelimited' });
        res
          .writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(retryAfter), 'content-length': Buffer.byteLength(body) })
          .end(body);
        return;
      }
      const injected = this.failNext.get(method)?.shift();
      if (injected) throw new SlackApiError(injected);
      result = { ok: true, ...this.#dispatch(method, args) };
    } catch (err) {
      const error = err instanceof SlackApiError ? err.error : 'internal_error';
      call.ok = false;
      call.error = error;
      result = { ok: false, error };
    }
    const body = JSON.stringify(result);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
  }

  /** Calls answered 429 for going over Slack's limits (a bot that paces itself right gets none). */
  rateLimited(): SlackCall[] {
    return this.calls.filter((c) => c.status === 429);
  }

  /** Retry-After in whole seconds when this call is over Slack's limit, else undefined (and counted). */
  #overLimit(method: string, args: Record<string, unknown>): number | undefined {
    if (this.options.rateLimits === false) return undefined;
    const key = bucketKey(method, args.channel === undefined ? undefined : asText(args.channel));
    const limit = SLACK_RATE_LIMITS[method];
    if (!key || !limit) return undefined;
    let bucket = this.#buckets.get(key);
    if (!bucket) this.#buckets.set(key, (bucket = new TokenBucket((limit.perMinute / 60) * (this.options.rateFactor ?? 1), limit.burst)));
    if (bucket.tryTake()) return undefined;
    return Math.max(1, Math.ceil(bucket.waitMs() / 1000));
  }

  /** For drivers in another process: issue triggers, read what the workspace shows. */
  #control(method: string, url: string, raw: string, res: ServerResponse): void {
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    };
    try {
      if (method === 'POST' && url === '/__sim/trigger') {
        const { user } = JSON.parse(raw || '{}') as { user?: string };
        if (!user || !this.users.has(user)) return send(400, { error: 'user_not_found' });
        return send(200, { trigger_id: this.issueTrigger(user) });
      }
      if (method === 'GET' && url === '/__sim/state') {
        return send(200, {
          messages: this.messages,
          ephemerals: this.ephemerals,
          views: [...this.views.values()],
          users: [...this.users.values()],
          calls: this.calls.length,
          rateLimited: this.rateLimited().length,
        });
      }
      send(404, { error: 'unknown control endpoint' });
    } catch (err) {
      send(400, { error: (err as Error).message });
    }
  }

  #dispatch(method: string, a: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { url: 'https://sim.slack.test/', team: 'Sim', user: 'vmbot', team_id: SLACK_SIM.team, user_id: SLACK_SIM.bot, bot_id: 'B0VMBOT' };
      case 'chat.postMessage': {
        const channel = this.#channel(a.channel);
        const { text, blocks } = this.#message(a);
        const threadTs = a.thread_ts === undefined ? undefined : asText(a.thread_ts);
        if (threadTs && !this.messages.some((m) => m.channel === channel && m.ts === threadTs && !m.thread_ts)) throw new SlackApiError('thread_not_found');
        const message: SlackMessage = { channel, ts: this.#ts(), ...(threadTs ? { thread_ts: threadTs } : {}), user: SLACK_SIM.bot, text, blocks };
        this.messages.push(message);
        this.events.emit('message', message);
        return { channel, ts: message.ts, message };
      }
      case 'chat.update': {
        const channel = this.#channel(a.channel);
        const message = this.messages.find((m) => m.channel === channel && m.ts === String(required(a, 'ts')));
        if (!message) throw new SlackApiError('message_not_found');
        const { text, blocks } = this.#message(a);
        Object.assign(message, { text, blocks, edited: true });
        this.events.emit('message', message);
        return { channel, ts: message.ts, text };
      }
      case 'chat.postEphemeral': {
        const channel = this.#channel(a.channel);
        const user = this.#user(a.user);
        const { text, blocks } = this.#message(a);
        const message_ts = this.#ts();
        this.ephemerals.push({ channel, user: user.id, text, blocks, message_ts });
        return { message_ts };
      }
      case 'chat.getPermalink': {
        const channel = this.#channel(a.channel);
        const ts = String(required(a, 'message_ts'));
        if (!this.messages.some((m) => m.channel === channel && m.ts === ts)) throw new SlackApiError('message_not_found');
        return { channel, permalink: `https://sim.slack.test/archives/${channel}/p${ts.replace('.', '')}` };
      }
      case 'views.open':
      case 'views.push': {
        const trigger = String(required(a, 'trigger_id'));
        const issued = this.#triggers.get(trigger);
        if (!issued) throw new SlackApiError('invalid_trigger_id');
        if (issued.used) throw new SlackApiError('exchanged_trigger_id');
        if (Date.now() - issued.issuedAt > TRIGGER_TTL_MS) throw new SlackApiError('expired_trigger_id');
        issued.used = true;
        const view = this.#checkView(required(a, 'view'), 'modal');
        const previous = method === 'views.push' ? this.openView(issued.user) : undefined;
        if (method === 'views.push' && (!previous || previous.stack.length >= 2))
          throw new SlackApiError(previous ? 'push_limit_reached' : 'invalid_arguments');
        return { view: this.#storeView(issued.user, 'modal', view, previous ? [...previous.stack, previous.id] : []) };
      }
      case 'views.update': {
        const id = a.view_id === undefined ? undefined : asText(a.view_id);
        const existing = id ? this.views.get(id) : undefined;
        if (!existing || existing.closed) throw new SlackApiError('not_found');
        if (a.hash !== undefined && a.hash !== existing.hash) throw new SlackApiError('hash_conflict');
        existing.view = this.#checkView(required(a, 'view'), existing.type);
        existing.hash = this.#hash();
        this.events.emit('view', existing);
        return { view: { ...existing.view, id: existing.id, hash: existing.hash } };
      }
      case 'views.publish': {
        const user = this.#user(a.user_id);
        const view = this.#checkView(required(a, 'view'), 'home');
        const existing = this.openView(user.id, 'home');
        if (existing) {
          existing.view = view;
          existing.hash = this.#hash();
          this.events.emit('view', existing);
          return { view: { ...view, id: existing.id, hash: existing.hash } };
        }
        return { view: this.#storeView(user.id, 'home', view, []) };
      }
      case 'users.info':
        return { user: this.#user(a.user) };
      case 'usergroups.users.list': {
        const users = this.usergroups.get(String(required(a, 'usergroup')));
        if (!users) throw new SlackApiError('no_such_subteam');
        return { users };
      }
      case 'conversations.open': {
        const users = String(required(a, 'users')).split(',');
        if (users.length !== 1) throw new SlackApiError('not_supported');
        const user = this.#user(users[0]);
        const channel = this.dmChannel(user.id);
        this.channels.add(channel);
        return { channel: { id: channel } };
      }
      default:
        throw new SlackApiError('unknown_method');
    }
  }

  #channel(value: unknown): string {
    if (value === undefined || value === '') throw new SlackApiError('channel_not_found');
    const channel = asText(value);
    if (!this.channels.has(channel)) throw new SlackApiError('channel_not_found');
    return channel;
  }

  #user(value: unknown): SlackUser {
    const user = this.users.get(asText(value ?? ''));
    if (!user) throw new SlackApiError('user_not_found');
    return user;
  }

  #message(a: Record<string, unknown>): { text: string; blocks: unknown[] } {
    const blocks = (a.blocks ?? []) as unknown[];
    const text = a.text === undefined ? '' : asText(a.text);
    if (!text && !blocks.length) throw new SlackApiError('no_text');
    if (!Array.isArray(blocks)) throw new SlackApiError('invalid_blocks_format');
    const checked = messageSchema.safeParse({ text: text || ' ', blocks });
    if (!checked.success) throw new SlackApiError(blocks.length > 50 ? 'invalid_blocks' : 'msg_blocks_too_long');
    return { text, blocks };
  }

  #checkView(value: unknown, type: 'modal' | 'home'): Record<string, unknown> {
    const view = value as Record<string, unknown>;
    const schema = type === 'modal' ? modalViewSchema : homeViewSchema;
    if (JSON.stringify(view).length > 250_000) throw new SlackApiError('view_too_large');
    if (!schema.safeParse(view).success) throw new SlackApiError('invalid_arguments');
    return view;
  }

  #storeView(user: string, type: 'modal' | 'home', view: Record<string, unknown>, stack: string[]): Record<string, unknown> {
    const id = `V${randomBytes(5).toString('hex').toUpperCase()}`;
    const stored: SlackView = { id, hash: this.#hash(), user, type, view, stack };
    this.views.set(id, stored);
    const key = `${user}|${type}`;
    this.#viewsOf.set(key, [...(this.#viewsOf.get(key) ?? []), id]);
    this.events.emit('view', stored);
    return { ...view, id, hash: stored.hash };
  }

  #ts(): string {
    this.#clock += 1;
    return `${Math.floor(this.#clock / 1000)}.${String(this.#clock % 1000).padStart(3, '0')}100`;
  }

  #hash(): string {
    return `${Date.now()}.${randomBytes(4).toString('hex')}`;
  }
}

export async function startSlackSim(options: SlackSimOptions = {}): Promise<SlackSim> {
  return new SlackSim(options).listen();
}

function required(a: Record<string, unknown>, name: string): unknown {
  if (a[name] === undefined || a[name] === '') throw new SlackApiError('invalid_arguments');
  return a[name];
}

/** Slack's WebClient sends form fields, with blocks/view/etc. as JSON strings. */
function parseArgs(contentType: string, raw: string): Record<string, unknown> {
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
