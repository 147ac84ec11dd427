/**
 * HTTP mode's server: the operator's endpoints (/healthz, /readyz, /metrics), then Slack's
 * events through Bolt's receiver — refused with 503 while the bot stops, and with 401 when
 * signed too far in the future.
 */
import type { HTTPReceiver } from '@slack/bolt';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleOps } from '../ops/http.js';
import type { Readiness } from '../ops/readiness.js';
import type { Logger } from '../log.js';
import { refuseFutureTimestamp } from './request-timestamps.js';

export async function listenForEvents(
  port: number,
  receiver: HTTPReceiver,
  readiness: Readiness,
  stopping: () => boolean,
  logger: Logger,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (handleOps(req, res, readiness)) return;
    if (stopping()) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' }).end(JSON.stringify({ ok: false, error: 'shutting down' }));
      return;
    }
    if (refuseFutureTimestamp(req, res, logger)) return;
    try {
      receiver.requestListener(req, res);
    } catch {
      // Bolt throws for a path it does not serve.
      if (!res.headersSent) res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: 'not found' }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
