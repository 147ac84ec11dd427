/**
 * Everything the bot says in Slack goes through here, paced by each method's own limit (see
 * rate-limits.ts): chat.postMessage per channel, chat.update and the rest per workspace. Each
 * limit is a token bucket with a burst, not a fixed gap. Edits of one message are coalesced:
 * while an edit waits its turn, a newer one replaces it (intermediate states are dropped, never
 * queued). A 429 blocks that method's bucket for the Retry-After and the call is sent again,
 * first, so order holds. Failures are logged rather than thrown — a Slack hiccup must never
 * change (or hold up) what happens in VergeOS.
 */
import type { Logger } from '../log.js';
import { pacingFor, TokenBucket } from './rate-limits.js';
import type { Message } from './views/messages.js';
import { SlackApiError, type SlackWebApi } from './web-api.js';

export interface MessageRef {
  channel: string;
  ts: string;
}

type Args = Record<string, unknown>;
type Reply = Awaited<ReturnType<SlackWebApi['call']>>;

interface Job {
  method: string;
  args: Args;
  /** Jobs with the same key replace each other while waiting (edits of one message). */
  coalesceKey?: string | undefined;
  waiters: Array<{ resolve: (reply: Reply) => void; reject: (err: unknown) => void }>;
}

/** One bucket's queue: calls go in order, one at a time, as the bucket allows. */
class Lane {
  readonly #queue: Job[] = [];
  #pumping: Promise<void> | undefined;

  constructor(
    private readonly bucket: TokenBucket | undefined,
    private readonly send: (job: Job) => Promise<Reply>,
    private readonly logger: Logger | undefined,
  ) {}

  get depth(): number {
    return this.#queue.length;
  }

  enqueue(method: string, args: Args, coalesceKey?: string): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const waiting = coalesceKey === undefined ? undefined : this.#queue.find((j) => j.coalesceKey === coalesceKey);
      if (waiting) {
        waiting.args = args;
        waiting.waiters.push({ resolve, reject });
      } else {
        this.#queue.push({ method, args, coalesceKey, waiters: [{ resolve, reject }] });
      }
      this.#pumping ??= this.#pump().finally(() => (this.#pumping = undefined));
    });
  }

  idle(): Promise<void> {
    return this.#pumping ?? Promise.resolve();
  }

  async #pump(): Promise<void> {
    while (this.#queue.length) {
      const wait = this.bucket?.waitMs() ?? 0;
      if (wait > 0) {
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      this.bucket?.tryTake();
      const job = this.#queue.shift()!;
      try {
        const reply = await this.send(job);
        for (const w of job.waiters) w.resolve(reply);
      } catch (err) {
        if (err instanceof SlackApiError && err.error === 'ratelimited') {
          const waitMs = err.retryAfterMs ?? 1_000;
          this.logger?.warn({ method: job.method, waitMs }, 'Slack rate limit; waiting, then sending again in order');
          this.bucket?.block(waitMs);
          this.#requeue(job);
          continue;
        }
        for (const w of job.waiters) w.reject(err);
      }
    }
  }

  /** Back at the head after a 429; a newer edit of the same message queued meanwhile wins. */
  #requeue(job: Job): void {
    const newer = job.coalesceKey === undefined ? -1 : this.#queue.findIndex((j) => j.coalesceKey === job.coalesceKey);
    if (newer >= 0) {
      const [replacement] = this.#queue.splice(newer, 1);
      replacement!.waiters.unshift(...job.waiters);
      this.#queue.unshift(replacement!);
    } else {
      this.#queue.unshift(job);
    }
  }
}

export interface NotifierOptions {
  logger?: Logger | undefined;
  /** Multiplies Slack's rates (a stand-in that allows it); 1 for Slack. */
  rateFactor?: number;
}

export class Notifier {
  readonly #client: SlackWebApi;
  readonly #logger: Logger | undefined;
  readonly #factor: number;
  readonly #lanes = new Map<string, Lane>();
  /** DM channel per user: conversations.open once, not per message. */
  readonly #dmChannels = new Map<string, Promise<string | undefined>>();

  constructor(client: SlackWebApi, options: NotifierOptions = {}) {
    this.#client = client;
    this.#logger = options.logger;
    this.#factor = options.rateFactor ?? 1;
  }

  #call(method: string, args: Args, options: { channel?: string; coalesceKey?: string } = {}): Promise<Reply> {
    const key = options.channel === undefined ? method : `${method}:${options.channel}`;
    let lane = this.#lanes.get(key);
    if (!lane) {
      const pace = pacingFor(method, this.#factor);
      lane = new Lane(
        pace ? new TokenBucket(pace.perSecond, pace.burst) : undefined,
        (job) => this.#client.call(job.method, job.args, { rateLimitRetries: 0 }),
        this.#logger,
      );
      this.#lanes.set(key, lane);
    }
    return lane.enqueue(method, args, options.coalesceKey);
  }

  /** Post a message (in a thread with `threadTs`); undefined if Slack refused it (logged). */
  async post(channel: string, message: Message, threadTs?: string): Promise<MessageRef | undefined> {
    try {
      const res = await this.#call(
        'chat.postMessage',
        { channel, text: message.text, blocks: message.blocks, unfurl_links: false, unfurl_media: false, ...(threadTs ? { thread_ts: threadTs } : {}) },
        { channel },
      );
      return typeof res.ts === 'string' && typeof res.channel === 'string' ? { channel: res.channel, ts: res.ts } : undefined;
    } catch (err) {
      this.#logger?.warn({ channel, err: (err as Error).message }, 'Slack chat.postMessage failed');
      return undefined;
    }
  }

  /** Edit a message. While an edit of it waits for its turn, a newer one replaces it. */
  async update(ref: MessageRef, message: Message): Promise<boolean> {
    try {
      await this.#call(
        'chat.update',
        { channel: ref.channel, ts: ref.ts, text: message.text, blocks: message.blocks },
        { coalesceKey: `${ref.channel}:${ref.ts}` },
      );
      return true;
    } catch (err) {
      this.#logger?.warn({ channel: ref.channel, err: (err as Error).message }, 'Slack chat.update failed');
      return false;
    }
  }

  /** A direct message; the DM channel is opened once per user. */
  async dm(user: string, message: Message): Promise<MessageRef | undefined> {
    let channel = this.#dmChannels.get(user);
    if (!channel) {
      channel = this.#call('conversations.open', { users: user }).then(
        (opened) => (opened.channel as { id?: string } | undefined)?.id,
        (err: unknown) => {
          this.#logger?.warn({ user, err: (err as Error).message }, 'Slack DM failed');
          this.#dmChannels.delete(user);
          return undefined;
        },
      );
      this.#dmChannels.set(user, channel);
    }
    const id = await channel;
    return id ? this.post(id, message) : undefined;
  }

  /** Only `user` sees it; from places without a channel (App Home), a DM instead. */
  async tell(user: string, channel: string | undefined, message: Message): Promise<void> {
    if (!channel) {
      await this.dm(user, message);
      return;
    }
    try {
      await this.#call('chat.postEphemeral', { channel, user, text: message.text, blocks: message.blocks });
    } catch (err) {
      this.#logger?.warn({ channel, err: (err as Error).message }, 'Slack chat.postEphemeral failed; sending a DM');
      await this.dm(user, message);
    }
  }

  async permalink(ref: MessageRef): Promise<string | undefined> {
    try {
      return (await this.#call('chat.getPermalink', { channel: ref.channel, message_ts: ref.ts })).permalink as string | undefined;
    } catch (err) {
      this.#logger?.warn({ channel: ref.channel, err: (err as Error).message }, 'Slack chat.getPermalink failed');
      return undefined;
    }
  }

  /** Publish a user's App Home; a newer view for the same user replaces one still waiting. */
  async publishHome(user: string, view: Record<string, unknown>): Promise<boolean> {
    try {
      await this.#call('views.publish', { user_id: user, view }, { coalesceKey: user });
      return true;
    } catch (err) {
      this.#logger?.warn({ user, err: (err as Error).message }, 'App Home publish failed');
      return false;
    }
  }

  /** Resolves when every write queued so far has gone out (tests, shutdown). */
  /** Writes waiting for their turn, across every lane (a metric). */
  get pending(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.depth;
    return n;
  }

  async idle(): Promise<void> {
    while ([...this.#lanes.values()].some((l) => l.depth > 0)) await Promise.all([...this.#lanes.values()].map((l) => l.idle()));
    await Promise.all([...this.#lanes.values()].map((l) => l.idle()));
  }
}
