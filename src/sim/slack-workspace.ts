/**
 * The Slack stand-in's workspace and the Web API methods' rules: users, a user group of leads,
 * channels, messages with threads, ephemeral messages, open views and trigger ids. Each method
 * checks what Slack checks where the bot could get it wrong — required arguments, trigger_id single
 * use and 3 s expiry, view limits, view hashes — and refuses with Slack's `error` string.
 * slack-sim.ts serves these methods over HTTP.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { homeViewSchema, messageSchema, modalViewSchema } from '../slack/limits.js';
import { SLACK_SIM } from './slack-constants.js';
import { required, SlackMethodError, type SlackEphemeral, type SlackMessage, type SlackUser, type SlackView } from './slack-records.js';
import { text as asText } from '../text.js';

const TRIGGER_TTL_MS = 3_000;

/** A workspace member with nothing restricted: the users the stand-in knows are these unless marked. */
const FULL_MEMBER = { team_id: SLACK_SIM.team, is_restricted: false, is_ultra_restricted: false, is_bot: false, deleted: false } as const;

export class SlackWorkspace {
  readonly users = new Map<string, SlackUser>();
  readonly usergroups = new Map<string, string[]>();
  readonly channels = new Set<string>();
  readonly messages: SlackMessage[] = [];
  readonly ephemerals: SlackEphemeral[] = [];
  readonly views = new Map<string, SlackView>();
  /** `message` after every message posted or edited, `view` after every view opened or changed (for waiting without polling). */
  readonly events = new EventEmitter();
  #triggers = new Map<string, { issuedAt: number; used: boolean; user: string }>();
  #clock = 1_700_000_000_000;

  constructor() {
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
  }

  /** More full members of the workspace (benchmarks' requesters). */
  addMembers(ids: readonly string[]): void {
    for (const id of ids) this.users.set(id, { id, name: id.toLowerCase(), real_name: id, ...FULL_MEMBER });
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

  // ---- the Web API methods ----------------------------------------------------------------

  /** What `method` answers (without `ok`), or a SlackMethodError with Slack's `error`. */
  protected dispatch(method: string, a: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { url: 'https://sim.slack.test/', team: 'Sim', user: 'vmbot', team_id: SLACK_SIM.team, user_id: SLACK_SIM.bot, bot_id: 'B0VMBOT' };
      case 'chat.postMessage': {
        const channel = this.#channel(a.channel);
        const { text, blocks } = this.#message(a);
        const threadTs = a.thread_ts === undefined ? undefined : asText(a.thread_ts);
        if (threadTs && !this.messages.some((m) => m.channel === channel && m.ts === threadTs && !m.thread_ts)) throw new SlackMethodError('thread_not_found');
        const message: SlackMessage = { channel, ts: this.#ts(), ...(threadTs ? { thread_ts: threadTs } : {}), user: SLACK_SIM.bot, text, blocks };
        this.messages.push(message);
        this.events.emit('message', message);
        return { channel, ts: message.ts, message };
      }
      case 'chat.update': {
        const channel = this.#channel(a.channel);
        const message = this.messages.find((m) => m.channel === channel && m.ts === String(required(a, 'ts')));
        if (!message) throw new SlackMethodError('message_not_found');
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
        if (!this.messages.some((m) => m.channel === channel && m.ts === ts)) throw new SlackMethodError('message_not_found');
        return { channel, permalink: `https://sim.slack.test/archives/${channel}/p${ts.replace('.', '')}` };
      }
      case 'views.open':
      case 'views.push': {
        const trigger = String(required(a, 'trigger_id'));
        const issued = this.#triggers.get(trigger);
        if (!issued) throw new SlackMethodError('invalid_trigger_id');
        if (issued.used) throw new SlackMethodError('exchanged_trigger_id');
        if (Date.now() - issued.issuedAt > TRIGGER_TTL_MS) throw new SlackMethodError('expired_trigger_id');
        issued.used = true;
        const view = this.#checkView(required(a, 'view'), 'modal');
        const previous = method === 'views.push' ? this.openView(issued.user) : undefined;
        if (method === 'views.push' && (!previous || previous.stack.length >= 2))
          throw new SlackMethodError(previous ? 'push_limit_reached' : 'invalid_arguments');
        return { view: this.#storeView(issued.user, 'modal', view, previous ? [...previous.stack, previous.id] : []) };
      }
      case 'views.update': {
        const id = a.view_id === undefined ? undefined : asText(a.view_id);
        const existing = id ? this.views.get(id) : undefined;
        if (!existing || existing.closed) throw new SlackMethodError('not_found');
        if (a.hash !== undefined && a.hash !== existing.hash) throw new SlackMethodError('hash_conflict');
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
        if (!users) throw new SlackMethodError('no_such_subteam');
        return { users };
      }
      case 'conversations.open': {
        const users = String(required(a, 'users')).split(',');
        if (users.length !== 1) throw new SlackMethodError('not_supported');
        const user = this.#user(users[0]);
        const channel = this.dmChannel(user.id);
        this.channels.add(channel);
        return { channel: { id: channel } };
      }
      default:
        throw new SlackMethodError('unknown_method');
    }
  }

  #channel(value: unknown): string {
    if (value === undefined || value === '') throw new SlackMethodError('channel_not_found');
    const channel = asText(value);
    if (!this.channels.has(channel)) throw new SlackMethodError('channel_not_found');
    return channel;
  }

  #user(value: unknown): SlackUser {
    const user = this.users.get(asText(value ?? ''));
    if (!user) throw new SlackMethodError('user_not_found');
    return user;
  }

  #message(a: Record<string, unknown>): { text: string; blocks: unknown[] } {
    const blocks = (a.blocks ?? []) as unknown[];
    const text = a.text === undefined ? '' : asText(a.text);
    if (!text && !blocks.length) throw new SlackMethodError('no_text');
    if (!Array.isArray(blocks)) throw new SlackMethodError('invalid_blocks_format');
    const checked = messageSchema.safeParse({ text: text || ' ', blocks });
    if (!checked.success) throw new SlackMethodError(blocks.length > 50 ? 'invalid_blocks' : 'msg_blocks_too_long');
    return { text, blocks };
  }

  #checkView(value: unknown, type: 'modal' | 'home'): Record<string, unknown> {
    const view = value as Record<string, unknown>;
    const schema = type === 'modal' ? modalViewSchema : homeViewSchema;
    if (JSON.stringify(view).length > 250_000) throw new SlackMethodError('view_too_large');
    if (!schema.safeParse(view).success) throw new SlackMethodError('invalid_arguments');
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
