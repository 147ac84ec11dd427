/**
 * A stateful VergeOS API v4 simulator on loopback: real HTTP(S), VergeOS's status codes and
 * `{"err"}` bodies, auth, fault injection and a log of every request, for tests, the demo and
 * benchmarks. Control endpoints under `/__sim/` let another process inject faults and read the log.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { FaultTable, type FaultAction, type FaultRuleInput } from './faults.js';
import { compareBy, parseFields, parseFilter, QueryError, type Row } from './query.js';
import { deleteRecipeInstance, downloadRecipe, postRecipeInstance } from './recipe-rules.js';
import { SimHttpError, TABLES, type SimBehaviour, type SimTiming, type TableName } from './schema.js';
import { SimState } from './state.js';

export type SimRole = 'admin' | 'readonly';

export interface VergeosSimOptions {
  port?: number;
  host?: string;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** API keys accepted as `Authorization: Bearer …`. */
  apiKeys?: Record<string, SimRole>;
  /** Users accepted with HTTP Basic. */
  users?: Record<string, { password: string; role: SimRole }>;
  timing?: Partial<SimTiming>;
  behaviour?: Partial<SimBehaviour>;
  /** Faults active from the start. */
  faults?: FaultRuleInput[];
  /**
   * The clock power states and imports run on (default: the wall clock). Tests pass one they
   * advance, so a state is asserted at a moment they chose rather than one a busy machine picks.
   */
  clock?: () => number;
}

export interface SimRequestRecord {
  seq: number;
  method: string;
  /** Path without query, e.g. `/api/v4/vms`. */
  path: string;
  /** Route name used by fault rules, e.g. `POST /vms`, `GET /vms/:key`. */
  route: string;
  query: Record<string, string>;
  /** Parsed JSON body (or the raw text if it was not JSON). */
  body: unknown;
  /** Status sent, or `dropped` / `hung`. */
  outcome: number | 'dropped' | 'hung';
}

export const SIM_DEFAULT_API_KEY = 'sim-admin-key';
export const SIM_READONLY_API_KEY = 'sim-readonly-key';
export const SIM_DEFAULT_USER = { username: 'admin', password: 'sim-password' };

const DEFAULT_TIMING: SimTiming = { importMs: 2_000, startMs: 500, stopMs: 500, addressMs: 3_000 };
const DEFAULT_BEHAVIOUR: SimBehaviour = { nameTakenStatus: 409, deleteStatus: 200 };

export class VergeosSim {
  state: SimState;
  readonly faults = new FaultTable();
  readonly requests: SimRequestRecord[] = [];
  /** Most API requests being handled at one moment since start (or the last reset). */
  peakInFlight = 0;
  #inFlight = 0;
  #server: Server;
  #sockets = new Set<Socket>();
  #seq = 0;
  #actionKeys = 1;
  #timing: SimTiming;
  #behaviour: SimBehaviour;
  #apiKeys: Record<string, SimRole>;
  #users: Record<string, { password: string; role: SimRole }>;
  #url = '';
  #clock: () => number;
  #hooks: Array<{ route: string; hook: (record: SimRequestRecord) => Promise<void> | void }> = [];

  constructor(private readonly options: VergeosSimOptions = {}) {
    this.#timing = { ...DEFAULT_TIMING, ...options.timing };
    this.#behaviour = { ...DEFAULT_BEHAVIOUR, ...options.behaviour };
    this.#apiKeys = options.apiKeys ?? { [SIM_DEFAULT_API_KEY]: 'admin', [SIM_READONLY_API_KEY]: 'readonly' };
    this.#users = options.users ?? { [SIM_DEFAULT_USER.username]: { password: SIM_DEFAULT_USER.password, role: 'admin' } };
    this.#clock = options.clock ?? Date.now;
    this.state = new SimState(this.#timing, this.#behaviour, this.#clock);
    if (options.faults) this.faults.add(options.faults);
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    this.#server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createHttpServer(handler);
    this.#server.keepAliveTimeout = 10_000;
    this.#server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /** Base URL without `/api/v4`, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    return this.#url;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  async listen(): Promise<this> {
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.options.port ?? 0, host, () => resolve());
    });
    const scheme = this.options.tls ? 'https' : 'http';
    this.#url = `${scheme}://${host}:${this.port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Fresh inventory, no faults, empty request log. */
  reset(): void {
    this.state = new SimState(this.#timing, this.#behaviour, this.#clock);
    this.faults.clear();
    this.requests.length = 0;
    this.peakInFlight = 0;
  }

  /**
   * In code only: run `hook` (awaited) when a request of `route` arrives, before it takes effect —
   * so a test can land other work exactly between a client's steps. Returns its removal.
   */
  onRequest(route: string, hook: (record: SimRequestRecord) => Promise<void> | void): () => void {
    const entry = { route, hook };
    this.#hooks.push(entry);
    return () => {
      this.#hooks = this.#hooks.filter((h) => h !== entry);
    };
  }

  /** Requests of one route, in order (e.g. `POST /machine_drives`). */
  requestsTo(route: string): SimRequestRecord[] {
    return this.requests.filter((r) => r.route === route);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const raw = await readBody(req);
    if (url.pathname.startsWith('/__sim/')) return this.#control(req.method ?? 'GET', url.pathname, raw, res);

    const method = req.method ?? 'GET';
    const match = /^\/api\/v4\/([a-z_]+)(?:\/([^/]+))?\/?$/.exec(url.pathname);
    const route = match ? `${method} /${match[1]}${match[2] === undefined ? '' : '/:key'}` : `${method} ${url.pathname}`;
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      body = raw;
    }
    const record: SimRequestRecord = {
      seq: ++this.#seq,
      method,
      path: url.pathname,
      route,
      query: Object.fromEntries(url.searchParams),
      body,
      outcome: 0,
    };
    this.requests.push(record);
    this.#inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.#inFlight);
    res.once('close', () => this.#inFlight--);

    const { latencyMs, action } = this.faults.decide(route);
    if (latencyMs > 0) await delay(latencyMs);
    for (const { hook } of this.#hooks.filter((h) => h.route === route || h.route === '*')) await hook(record);

    if (action && !action.commit) return this.#applyFault(action, record, res);
    let status: number;
    let payload: unknown;
    try {
      const authRole = this.#authenticate(req.headers.authorization);
      if (typeof body === 'string') throw new SimHttpError(400, 'Invalid JSON in request body');
      if (method !== 'GET' && authRole === 'readonly') throw new SimHttpError(403, 'Permission denied');
      if (!match) throw new SimHttpError(404, `No such endpoint '${url.pathname}'`);
      [status, payload] = this.#route(
        method,
        match[1]!,
        match[2] === undefined ? undefined : decodeURIComponent(match[2]),
        url.searchParams,
        body as Row | undefined,
      );
    } catch (err) {
      if (err instanceof SimHttpError) {
        status = err.status;
        payload = { err: err.err };
      } else if (err instanceof QueryError) {
        status = 400;
        payload = { err: `Invalid filter: ${err.message}` };
      } else {
        status = 500;
        payload = { err: `Internal error: ${(err as Error).message}` };
      }
    }
    if (action) return this.#applyFault(action, record, res);
    record.outcome = status;
    send(res, status, payload);
  }

  #applyFault(action: FaultAction, record: SimRequestRecord, res: ServerResponse): void {
    if (action.kind === 'drop') {
      record.outcome = 'dropped';
      res.socket?.destroy();
    } else if (action.kind === 'hang') {
      record.outcome = 'hung';
    } else {
      record.outcome = action.status;
      const fallback =
        action.status === 429 ? { err: 'Too many requests: this API key is over its request budget' } : { err: `Simulated failure (${action.status})` };
      const body = action.body === undefined ? fallback : action.body;
      if (action.retryAfter !== undefined) res.setHeader('retry-after', String(action.retryAfter));
      if (body === null) {
        res.writeHead(action.status, { 'content-length': '0' }).end();
      } else if (typeof body === 'string') {
        res.writeHead(action.status, { 'content-type': 'text/html' }).end(body);
      } else {
        send(res, action.status, body);
      }
    }
  }

  #authenticate(header: string | undefined): SimRole {
    if (!header) throw new SimHttpError(401, 'Authentication required');
    const [scheme, value = ''] = header.split(' ', 2);
    if (scheme === 'Bearer') {
      const role = this.#apiKeys[value];
      if (role) return role;
    } else if (scheme === 'Basic') {
      const decoded = Buffer.from(value, 'base64').toString();
      const colon = decoded.indexOf(':');
      const user = this.#users[decoded.slice(0, colon)];
      if (colon > 0 && user && user.password === decoded.slice(colon + 1)) return user.role;
    }
    throw new SimHttpError(401, 'Invalid credentials');
  }

  #route(method: string, table: string, key: string | undefined, params: URLSearchParams, body: Row | undefined): [number, unknown] {
    const s = this.state;
    if (method === 'POST' && key === undefined) {
      const input = body ?? {};
      switch (table) {
        case 'vms': {
          const { vmKey, machineKey } = s.createVm(input);
          return [201, { ...created('vms', vmKey), response: { machine: machineKey } }];
        }
        case 'machine_drives':
          return [201, created(table, s.addDrive(input).key)];
        case 'machine_nics':
          return [201, created(table, s.addNic(input).key)];
        case 'machine_devices': {
          const { key: deviceKey, uuid } = s.addDevice(input);
          return [201, { ...created(table, deviceKey), response: { uuid } }];
        }
        case 'machine_snapshots':
          return [201, created(table, s.createSnapshot(input).key)];
        case 'vm_actions': {
          const response = s.vmAction(input);
          return [201, { ...created(table, String(this.#actionKeys++)), ...(response ? { response } : {}) }];
        }
        case 'vm_recipe_instances':
          return postRecipeInstance(s, input);
      }
    }
    if (method === 'PUT' && key !== undefined && table === 'vm_recipes' && params.get('action') === 'download') return [200, downloadRecipe(s, key)];
    if (method === 'DELETE' && key !== undefined && table === 'vm_recipe_instances') {
      deleteRecipeInstance(s, key);
      return [this.#behaviour.deleteStatus, this.#behaviour.deleteStatus === 204 ? undefined : {}];
    }
    // A PUT answers with the row as changed (pyVergeOS reads it when it is an object; others GET).
    if (method === 'PUT' && key !== undefined && table === 'vms') return [200, this.#project(s.updateVm(key, body ?? {}), undefined, table)];
    if (method === 'PUT' && key !== undefined && table === 'machine_drives') return [200, this.#project(s.growDrive(key, body ?? {}), undefined, table)];
    if (method === 'DELETE' && key !== undefined && (table === 'vms' || table === 'machine_snapshots')) {
      if (table === 'vms') s.deleteVm(key);
      else s.deleteSnapshot(key);
      return [this.#behaviour.deleteStatus, this.#behaviour.deleteStatus === 204 ? undefined : {}];
    }
    if (method === 'GET' && (TABLES as readonly string[]).includes(table)) {
      s.refresh();
      const rows = s.table(table as TableName);
      const fields = parseFields(params.get('fields') ?? undefined);
      if (key !== undefined) {
        const row = rows.get(key);
        if (!row) throw new SimHttpError(404, `${table} '${key}' not found`);
        return [200, this.#project(row, fields, table as TableName)];
      }
      const predicate = parseFilter(params.get('filter') ?? undefined);
      // A filter may name a field's alias, joins included (pyVergeOS: `running eq true` over `machine#status#running as running`).
      const filterable = (row: Row) => (fields ? { ...row, ...this.#project(row, fields, table as TableName) } : row);
      let list = [...rows.values()].filter((row) => predicate(filterable(row)));
      const order = compareBy(params.get('sort') ?? undefined);
      if (order) list.sort(order);
      const offset = Number(params.get('offset') ?? 0);
      const limit = Number(params.get('limit') ?? 0);
      list = list.slice(offset, limit > 0 ? offset + limit : undefined);
      return [200, list.map((row) => this.#project(row, fields, table as TableName))];
    }
    if ((TABLES as readonly string[]).includes(table) || table === 'vm_actions') throw new SimHttpError(405, `Method ${method} not allowed here`);
    throw new SimHttpError(404, `No such table '${table}'`);
  }

  #project(row: Row, fields: ReturnType<typeof parseFields>, table: TableName): Row {
    if (!fields) return Object.fromEntries(Object.entries(row).filter(([k, v]) => !k.startsWith('_') && v !== undefined));
    const out: Row = {};
    for (const f of fields) out[f.alias] = this.state.resolvePath(row, f.path, table) ?? null;
    return out;
  }

  #control(method: string, path: string, raw: string, res: ServerResponse): void {
    try {
      if (path === '/__sim/requests' && method === 'GET') return send(res, 200, this.requests);
      if (path === '/__sim/requests' && method === 'DELETE') {
        this.requests.length = 0;
        return send(res, 200, {});
      }
      if (path === '/__sim/faults' && method === 'POST') {
        this.faults.add(JSON.parse(raw) as FaultRuleInput | FaultRuleInput[]);
        return send(res, 201, {});
      }
      if (path === '/__sim/faults' && method === 'DELETE') {
        this.faults.clear();
        return send(res, 200, {});
      }
      if (path === '/__sim/reset' && method === 'POST') {
        this.reset();
        return send(res, 200, {});
      }
      if (path === '/__sim/health') return send(res, 200, { ok: true });
      send(res, 404, { err: `No such control endpoint '${path}'` });
    } catch (err) {
      send(res, 400, { err: (err as Error).message });
    }
  }
}

export async function startVergeosSim(options: VergeosSimOptions = {}): Promise<VergeosSim> {
  return new VergeosSim(options).listen();
}

function created(table: string, key: string): Row {
  return { location: `/v4/${table}/${key}`, dbpath: `${table}/${key}`, $row: Number(key), $key: key };
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  if (payload === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
