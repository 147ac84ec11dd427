/**
 * A loopback stand-in for the Slack Web API methods the bot calls, with state (the workspace and
 * its methods' rules are in slack-workspace.ts). Over HTTP it checks what Slack checks before a
 * method runs — the bot token and Slack's rate limits — and answers `{ok:false,error}` as Slack
 * does. Point the bot at it with SLACK_API_URL=<url>/api/.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bucketKey, SLACK_RATE_LIMITS, TokenBucket } from '../slack/rate-limits.js';
import { SLACK_SIM_BOT_TOKEN } from './slack-constants.js';
import { parseArgs, SlackMethodError, type SlackCall, type SlackSimOptions } from './slack-records.js';
import { SlackWorkspace } from './slack-workspace.js';
import { text as asText } from '../text.js';

export { SLACK_SIM, SLACK_SIM_BOT_TOKEN, SLACK_SIM_SIGNING_SECRET } from './slack-constants.js';
export type { SlackCall, SlackEphemeral, SlackMessage, SlackSimOptions, SlackUser, SlackView } from './slack-records.js';

export class SlackSim extends SlackWorkspace {
  readonly calls: SlackCall[] = [];
  /** Per method, fail the next calls with this error (e.g. `ratelimited`). */
  readonly failNext = new Map<string, string[]>();
  #server: Server;
  #url = '';

  /** Buckets per method (per method and channel for chat.postMessage), created on first use. */
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(private readonly options: SlackSimOptions = {}) {
    super();
    this.#server = createServer((req, res) => void this.#handle(req, res));
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

  callsTo(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  // ---- the Web API over HTTP -------------------------------------------------------------

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
      if (token !== (this.options.botToken ?? SLACK_SIM_BOT_TOKEN)) throw new SlackMethodError(token ? 'invalid_auth' : 'not_authed');
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
      if (injected) throw new SlackMethodError(injected);
      result = { ok: true, ...this.dispatch(method, args) };
    } catch (err) {
      const error = err instanceof SlackMethodError ? err.error : 'internal_error';
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
}

export async function startSlackSim(options: SlackSimOptions = {}): Promise<SlackSim> {
  return new SlackSim(options).listen();
}
