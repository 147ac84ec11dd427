/**
 * The Slack Web API methods the bot calls, over undici. Bolt still receives everything (and
 * checks signatures); sending goes through this lean client because @slack/web-api spends about
 * three times the CPU per call (queue, retry wrapper, a recursive redaction walk for debug lines
 * even with debug off), which under a burst of commands delays everyone's 3-second acks.
 * Same shape as WebClient (`client.chat.postMessage({...})`), form-encoded like WebClient,
 * `{ok:false}` thrown as SlackApiError, HTTP 429 honoured with Retry-After.
 */
import { inspect } from 'node:util';
import { Pool } from 'undici';
import type { Logger } from '../log.js';

export class SlackApiError extends Error {
  override readonly name = 'SlackApiError';
  constructor(
    readonly method: string,
    readonly error: string,
  ) {
    super(`Slack ${method} failed: ${error}`);
  }
}

type Args = Record<string, unknown>;
type Reply = Record<string, any> & { ok: boolean };

/** Methods whose result is useless after a delay (a trigger_id lives 3 s): never retried. */
const NO_RETRY = new Set(['views.open', 'views.push']);

export class SlackWebApi {
  readonly #token: string;
  readonly #pool: Pool;
  readonly #path: string;
  readonly #retries: number;
  readonly #logger: Logger | undefined;

  constructor(options: { token: string; baseUrl?: string | undefined; retries?: number; logger?: Logger }) {
    const base = new URL(options.baseUrl ?? 'https://slack.com/api/');
    this.#token = options.token;
    this.#pool = new Pool(base.origin, { connections: 16, keepAliveTimeout: 30_000, headersTimeout: 15_000, bodyTimeout: 15_000 });
    this.#path = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
    this.#retries = options.retries ?? 2;
    this.#logger = options.logger;
  }

  async call(method: string, args: Args): Promise<Reply> {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(args)) {
      if (value === undefined || value === null) continue;
      form.set(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
    }
    const body = form.toString();
    for (let attempt = 0; ; attempt++) {
      const res = await this.#pool.request({
        method: 'POST',
        path: `${this.#path}${method}`,
        headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      if (res.statusCode === 429 && attempt < this.#retries && !NO_RETRY.has(method)) {
        await res.body.dump();
        const wait = Number(res.headers['retry-after'] ?? 1) * 1000;
        this.#logger?.warn({ method, waitMs: wait }, 'Slack rate limit; waiting');
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      if (res.statusCode >= 400) {
        await res.body.dump();
        throw new SlackApiError(method, res.statusCode === 429 ? 'ratelimited' : `http_${res.statusCode}`);
      }
      const reply = (await res.body.json()) as Reply;
      if (!reply.ok) throw new SlackApiError(method, String(reply.error ?? 'unknown_error'));
      return reply;
    }
  }

  readonly chat = {
    postMessage: (a: Args) => this.call('chat.postMessage', a),
    update: (a: Args) => this.call('chat.update', a),
    postEphemeral: (a: Args) => this.call('chat.postEphemeral', a),
    getPermalink: (a: Args) => this.call('chat.getPermalink', a),
  };

  readonly views = {
    open: (a: Args) => this.call('views.open', a),
    update: (a: Args) => this.call('views.update', a),
    publish: (a: Args) => this.call('views.publish', a),
  };

  readonly conversations = {
    open: (a: Args) => this.call('conversations.open', a),
  };

  readonly usergroups = {
    users: { list: (a: Args) => this.call('usergroups.users.list', a) },
  };

  async close(): Promise<void> {
    await this.#pool.close();
  }

  [inspect.custom](): string {
    return 'SlackWebApi { token: *** }';
  }

  toJSON(): Record<string, unknown> {
    return { token: '***' };
  }
}
