/**
 * The Bolt app: HTTP mode (Bolt's receiver behind the bot's own server, which also answers the
 * operator's endpoints) or Socket Mode when SLACK_APP_TOKEN is set. Bolt only receives; the bot
 * sends through its own paced Web API client.
 */
import { App, HTTPReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Env } from '../config.js';
import type { Logger } from '../log.js';

export interface SlackApp {
  app: App;
  /** HTTP mode's receiver (undefined in Socket Mode). */
  receiver: HTTPReceiver | undefined;
  socketMode: boolean;
  /** The Web API's base URL when not Slack's own (the stand-in), with its trailing slash. */
  slackApiUrl: string | undefined;
}

function boltLogger(logger: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const line = (parts: unknown[]) => parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
  return {
    debug: (...m) => logger.debug({ from: 'bolt' }, line(m)),
    info: (...m) => logger.info({ from: 'bolt' }, line(m)),
    warn: (...m) => logger.warn({ from: 'bolt' }, line(m)),
    error: (...m) => logger.error({ from: 'bolt' }, line(m)),
    setLevel: (l) => (level = l),
    getLevel: () => level,
    setName: () => undefined,
  };
}

export function createSlackApp(env: Env, logger: Logger, slackRetries: number | undefined): SlackApp {
  const slackApiUrl = env.SLACK_API_URL ? (env.SLACK_API_URL.endsWith('/') ? env.SLACK_API_URL : `${env.SLACK_API_URL}/`) : undefined;
  const clientOptions = {
    ...(slackApiUrl ? { slackApiUrl } : {}),
    ...(slackRetries !== undefined ? { retryConfig: { retries: slackRetries } } : {}),
  };
  const socketMode = Boolean(env.SLACK_APP_TOKEN);
  // HTTP mode: the bot owns the server, so it can answer the operator's endpoints and, while
  // stopping, 503 to new events; Bolt's receiver handles /slack/events (signatures included).
  const receiver = socketMode
    ? undefined
    : new HTTPReceiver({ signingSecret: env.SLACK_SIGNING_SECRET!, processBeforeResponse: false, logger: boltLogger(logger) });
  // The bot keeps its state in its own store; Bolt's conversation store is pure overhead.
  const app = socketMode
    ? new App({ token: env.SLACK_BOT_TOKEN!, appToken: env.SLACK_APP_TOKEN!, socketMode: true, clientOptions, logger: boltLogger(logger), convoStore: false })
    : new App({ token: env.SLACK_BOT_TOKEN!, receiver: receiver!, clientOptions, logger: boltLogger(logger), convoStore: false });
  app.error(async (error) => {
    logger.error({ code: error.code, err: error.message }, 'unhandled error in a Slack listener');
  });
  return { app, receiver, socketMode, slackApiUrl };
}
