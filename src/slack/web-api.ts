/**
 * The Slack Web API methods the bot calls, over undici. Bolt still receives everything (and
 * checks signatures); sending goes through this lean client because @slack/web-api spends about
 * three times the CPU per call (queue, retry wrapper, a recursive redaction walk for debug lines
 * even with debug off), which under a burst of commands delays everyone's 3-second acks.
 * Same shape as WebClient (`client.chat.postMessage({...})`); JSON bodies for write methods,
 * `{ok:false}` thrown as SlackApiError, HTTP 429 honoured with Retry-After.
 */
import { inspect } from 'node:util';
import { Pool } from 'undici';
import { CodedError } from '../errors.js';
import type { Logger } from '../log.js';
import { text as asText } from '../text.js';
import { slackApiErrorsTotal, slackErrorLabel, slackRateLimitedTotal } from '../ops/metrics.js';

/**
 * A Web API call Slack refused (`{ok:false,error}`, an HTTP error or a 429 not waited out).
 * `error` is Slack's own string, which callers branch on; `code` is `SLACK_RATE_LIMITED` or
 * `SLACK_API_ERROR`.
 */
export class SlackApiError extends CodedError {
  override readonly name = 'SlackApiError';
  declare readonly code: 'SLACK_RATE_LIMITED' | 'SLACK_API_ERROR';
  constructor(
    readonly method: string,
    readonly error: string,
    /** With `ratelimited`: how long Slack asked us to wait (Retry-After). */
    readonly retryAfterMs?: number,
  ) {
    super(error === 'ratelimited' ? 'SLACK_RATE_LIMITED' : 'SLACK_API_ERROR', `Slack ${method} failed: ${error}`);
  }
}

export interface CallOptions {
  /** How often to wait out a 429 here before throwing it (default: the client's `retries`). */
  rateLimitRetries?: number;
}

/** JSON text to splice into a request body as is (e.g. a view rendered once and cached). */
export class RawJson {
  constructor(readonly json: string) {}
}

type Args = Record<string, unknown>;
type Reply = Record<string, unknown> & { ok: boolean };

/** Read methods, which Slack only takes form-encoded; write methods get JSON (cheaper to encode). */
const FORM_ONLY = new Set(['usergroups.users.list', 'users.info', 'auth.test']);

/** Methods whose successful answer is the view sent back to us, which the bot never reads. */
const ECHOES_VIEW = new Set(['views.open', 'views.update', 'views.publish', 'views.push']);

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

  async call(method: string, args: Args, options: CallOptions = {}): Promise<Reply> {
    try {
      return await this.#call(method, args, options);
    } catch (err) {
      const code = err instanceof SlackApiError ? err.error : ((err as { code?: string }).code ?? 'network_error');
      // 429s are counted on their own (vmbot_slack_rate_limited_total), once per answer.
      if (code !== 'ratelimited') slackApiErrorsTotal.inc({ method, error: slackErrorLabel(code.toLowerCase()) });
      throw err;
    }
  }

  async #call(method: string, args: Args, options: CallOptions): Promise<Reply> {
    const retries = NO_RETRY.has(method) ? 0 : (options.rateLimitRetries ?? this.#retries);
    let body: string;
    let contentType: string;
    if (FORM_ONLY.has(method)) {
      const form = new URLSearchParams();
      for (const [key, value] of Object.entries(args)) {
        if (value === undefined || value === null) continue;
        form.set(key, value instanceof RawJson ? value.json : asText(value));
      }
      body = form.toString();
      contentType = 'application/x-www-form-urlencoded';
    } else {
      const fields = Object.entries(args).filter(([, v]) => v !== undefined);
      body = `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${v instanceof RawJson ? v.json : JSON.stringify(v)}`).join(',')}}`;
      contentType = 'application/json; charset=utf-8';
    }
    for (let attempt = 0; ; attempt++) {
      const res = await this.#pool.request({
        method: 'POST',
        path: `${this.#path}${method}`,
        headers: { authorization: `Bearer ${this.#token}`, 'content-type': contentType },
        body,
      });
      if (res.statusCode === 429) {
        slackRateLimitedTotal.inc({ method });
        await res.body.dump();
        const wait = (Number(res.headers['retry-after']) || 1) * 1000;
        if (attempt >= retries) throw new SlackApiError(method, 'ratelimited', wait);
        this.#logger?.warn({ method, waitMs: wait }, 'Slack rate limit; waiting');
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      if (res.statusCode >= 400) {
        await res.body.dump();
        throw new SlackApiError(method, `http_${res.statusCode}`);
      }
      const text = await res.body.text();
      // views.* answers echo the whole view; when nothing else is needed, don't parse it.
      if (ECHOES_VIEW.has(method) && /^\s*\{\s*"ok"\s*:\s*true\b/.test(text)) return { ok: true };
      const reply = JSON.parse(text) as Reply;
      if (!reply.ok) throw new SlackApiError(method, asText(reply.error) || 'unknown_error');
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
