/**
 * Signed requests dated in the future are refused. Bolt's HTTP receiver refuses a request whose
 * `x-slack-request-timestamp` is more than 5 minutes old but accepts any future one, so a request
 * signed ahead of time (or captured with a clock far ahead) would stay replayable for as long as
 * its date lies ahead. This check runs in front of Bolt's, which still verifies the signature.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';

/** Slack's own window, and Bolt's for old requests: 5 minutes either way. */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

/**
 * Answers 401 (as Bolt does for a bad signature, no body) when the request's timestamp is more
 * than 5 minutes ahead of now; true when it did. A missing or malformed timestamp is left to Bolt,
 * which refuses it.
 */
export function refuseFutureTimestamp(req: IncomingMessage, res: ServerResponse, logger: Logger, nowMs = Date.now()): boolean {
  const header = req.headers['x-slack-request-timestamp'];
  const timestamp = Number(Array.isArray(header) ? header[0] : header);
  if (!header || !Number.isFinite(timestamp)) return false;
  const aheadSeconds = timestamp - Math.floor(nowMs / 1000);
  if (aheadSeconds <= MAX_CLOCK_SKEW_SECONDS) return false;
  // Never the signature or the body: what is logged cannot be replayed.
  logger.warn({ path: req.url, aheadSeconds }, 'refused a Slack request dated in the future');
  res.writeHead(401).end();
  return true;
}
