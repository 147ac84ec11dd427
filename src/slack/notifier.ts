/**
 * Everything the bot says in Slack goes through here: paced per channel (Slack allows about one
 * message per second per channel, and chat.update is Tier 3), with failures logged rather than
 * thrown — a Slack hiccup must never change what happens in VergeOS.
 */
import type { Logger } from '../log.js';
import type { Message } from './views/messages.js';

import type { SlackWebApi } from './web-api.js';

export interface MessageRef {
  channel: string;
  ts: string;
}

export class Notifier {
  readonly #client: SlackWebApi;
  readonly #gapMs: number;
  readonly #logger: Logger | undefined;
  /** Per channel: when the next write may go out, chained so writes keep their order. */
  readonly #lanes = new Map<string, Promise<number>>();

  constructor(client: SlackWebApi, options: { minIntervalMs?: number; logger?: Logger } = {}) {
    this.#client = client;
    this.#gapMs = options.minIntervalMs ?? 1_000;
    this.#logger = options.logger;
  }

  /** Run `write` in this channel's lane, at least the interval after the previous write. */
  #paced<T>(channel: string, write: () => Promise<T>): Promise<T> {
    const previous = this.#lanes.get(channel) ?? Promise.resolve(0);
    let result!: Promise<T>;
    const lane = previous.then(async (notBefore) => {
      const wait = notBefore - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      result = write();
      await result.catch(() => undefined);
      return Date.now() + this.#gapMs;
    });
    this.#lanes.set(channel, lane);
    return lane.then(() => result);
  }

  /** Post a message (in a thread with `threadTs`); undefined if Slack refused it (logged). */
  async post(channel: string, message: Message, threadTs?: string): Promise<MessageRef | undefined> {
    try {
      const res = await this.#paced(channel, () =>
        this.#client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false, unfurl_media: false, ...(threadTs ? { thread_ts: threadTs } : {}) }),
      );
      return typeof res.ts === 'string' && typeof res.channel === 'string' ? { channel: res.channel, ts: res.ts } : undefined;
    } catch (err) {
      this.#logger?.warn({ channel, err: (err as Error).message }, 'Slack chat.postMessage failed');
      return undefined;
    }
  }

  async update(ref: MessageRef, message: Message): Promise<boolean> {
    try {
      await this.#paced(ref.channel, () => this.#client.chat.update({ channel: ref.channel, ts: ref.ts, text: message.text, blocks: message.blocks }));
      return true;
    } catch (err) {
      this.#logger?.warn({ channel: ref.channel, err: (err as Error).message }, 'Slack chat.update failed');
      return false;
    }
  }

  /** A direct message; the DM channel is opened as needed. */
  async dm(user: string, message: Message): Promise<MessageRef | undefined> {
    try {
      const opened = await this.#client.conversations.open({ users: user });
      const channel = (opened.channel as { id?: string } | undefined)?.id;
      return channel ? await this.post(channel, message) : undefined;
    } catch (err) {
      this.#logger?.warn({ user, err: (err as Error).message }, 'Slack DM failed');
      return undefined;
    }
  }

  /** Only `user` sees it; from places without a channel (App Home), a DM instead. */
  async tell(user: string, channel: string | undefined, message: Message): Promise<void> {
    if (!channel) {
      await this.dm(user, message);
      return;
    }
    try {
      await this.#client.chat.postEphemeral({ channel, user, text: message.text, blocks: message.blocks });
    } catch (err) {
      this.#logger?.warn({ channel, err: (err as Error).message }, 'Slack chat.postEphemeral failed; sending a DM');
      await this.dm(user, message);
    }
  }

  async permalink(ref: MessageRef): Promise<string | undefined> {
    try {
      return (await this.#client.chat.getPermalink({ channel: ref.channel, message_ts: ref.ts })).permalink as string | undefined;
    } catch (err) {
      this.#logger?.warn({ channel: ref.channel, err: (err as Error).message }, 'Slack chat.getPermalink failed');
      return undefined;
    }
  }

  /** Resolves when every write queued so far has gone out (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.#lanes.values()].map((lane) => lane.catch(() => undefined)));
  }
}
