/**
 * The operator's endpoints: `/healthz` (the process is alive), `/readyz` (it can work: 503 with
 * the reason otherwise) and `/metrics` (Prometheus text). HTTP mode serves them beside
 * /slack/events on PORT; Socket Mode on HEALTH_PORT (see opsServer).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registry } from './metrics.js';
import type { Readiness } from './readiness.js';

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' }).end(text);
}

/** Answers an operator endpoint; false when the request is for something else. */
export function handleOps(req: IncomingMessage, res: ServerResponse, readiness: Readiness): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz') {
    json(res, 200, { ok: true });
    return true;
  }
  if (path === '/readyz') {
    const report = readiness.report();
    json(res, report.ready ? 200 : 503, report.ready ? { ok: true, ...report } : { ok: false, reason: readiness.reason(), ...report });
    return true;
  }
  if (path === '/metrics') {
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(text),
      (err: unknown) => json(res, 500, { ok: false, error: (err as Error).message }),
    );
    return true;
  }
  return false;
}

/** Socket Mode: the endpoints on a port of their own. */
export async function opsServer(port: number, readiness: Readiness, host?: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (!handleOps(req, res, readiness)) json(res, 404, { ok: false, error: 'not found: try /healthz, /readyz or /metrics' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** Close a server, waiting for requests in progress; idle keep-alive connections are closed now. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
