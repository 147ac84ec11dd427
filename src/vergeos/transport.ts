/**
 * HTTP to one VergeOS: auth header, TLS, keep-alive pool, timeouts, bounded concurrency,
 * retries for idempotent calls only, and every failure turned into a VergeosError.
 * Credentials live in a private field and never reach an error, a log line or inspect().
 */
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { Pool, type Dispatcher } from 'undici';
import { CodedError, EXIT } from '../errors.js';
import { codeForStatus, VergeosError, type VergeosErrorCode } from './errors.js';
import { backoffDelay, parseRetryAfter, type RetryPolicy } from './retry.js';
import { Semaphore } from './semaphore.js';
import type { Logger } from '../log.js';
import { endpointLabel, vergeosBudgetWaitSeconds, vergeosRequestSeconds, vergeosRequestsTotal } from '../ops/metrics.js';
import { createHash } from 'node:crypto';
import { BudgetWaitAbandoned, NEVER, realClock, RequestBudget, sharedBudget, type BudgetClock } from './budget.js';
import { currentDeadline, currentPurpose, type Purpose } from './purpose.js';

export type VergeosAuth = { apiKey: string } | { username: string; password: string };

export interface VergeosClientOptions {
  /** e.g. `https://vergeos.example.com`; `/api/v4` is added. */
  url: string;
  auth: VergeosAuth;
  /** PEM of the CA that signed VergeOS's certificate (or the self-signed certificate itself). */
  ca?: string | Buffer;
  /** Path to such a PEM file (VERGEOS_CA_FILE). */
  caFile?: string;
  /** Accept any certificate. Warned about once, loudly. */
  insecure?: boolean;
  timeouts?: Partial<VergeosTimeouts>;
  /** Requests in flight at once (VergeOS drops connections past ~50 per session). Default 8. */
  maxInFlight?: number;
  retry?: Partial<RetryPolicy>;
  /** The longest `Retry-After` (ms) a read waits out after a 429; longer ones fail at once. Default 60 s. */
  maxRetryAfterMs?: number;
  logger?: Logger;
  /**
   * The request budget: calls per hour and burst, shared by every client of this process with the
   * same URL and credentials. Absent: no budget (the configuration's default is VergeOS's 1000/h).
   */
  rateLimit?: { perHour: number; burst?: number; clock?: BudgetClock };
  /** A budget to use as it is (tests, the bench); wins over `rateLimit`. */
  budget?: RequestBudget;
  /** For tests: a dispatcher to use instead of the client's own pool. */
  dispatcher?: Dispatcher;
}

export interface VergeosTimeouts {
  connectMs: number;
  headersMs: number;
  bodyMs: number;
}

const DEFAULT_TIMEOUTS: VergeosTimeouts = { connectMs: 10_000, headersMs: 60_000, bodyMs: 60_000 };
const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseMs: 250, maxMs: 4_000 };
const API_PREFIX = '/api/v4';
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'EPROTO',
]);
/** Errors raised before a byte of the request left: nothing can have happened on the server. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED']);
/** The transport code of a call that gave up waiting for the request budget (its deadline passed): never sent. */
const BUDGET_WAIT_ABANDONED = 'BUDGET_WAIT_ABANDONED';

/** Whether a call gave up waiting for the request budget (a deadline passed, the process stopping): it was never sent. */
export function gaveUpWaiting(err: unknown): boolean {
  return err instanceof VergeosError && err.transportCode === BUDGET_WAIT_ABANDONED;
}
/** How a VergeOS node drops a session past its burst limit (gov's retry.go): a reset, or the socket closed under the request. */
export const DROPPED_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const insecureWarned = new Set<string>();

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface CallOptions {
  method: HttpMethod;
  /** Path under /api/v4, starting with `/`. */
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /**
   * Send once: no automatic retry, even for a PUT. A lost answer then surfaces as an error with
   * `outcomeUnknown` (as for a POST), for changes the caller looks up rather than re-sends.
   */
  once?: boolean;
  /**
   * Error statuses that are this call's answer, returned with their body instead of thrown: a
   * recipe simulation's report comes as 405 "Simulation complete".
   */
  answerStatuses?: readonly number[];
}

export interface CallResult {
  status: number;
  /** Parsed JSON, or undefined for an empty body. */
  body: unknown;
}

export class VergeosTransport {
  readonly origin: string;
  readonly #authorization: string;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #slots: Semaphore;
  readonly #retry: RetryPolicy;
  readonly #maxRetryAfterMs: number;
  readonly #logger: Logger | undefined;
  /** Paces every call under VergeOS's limit; undefined when the budget is off. */
  readonly budget: RequestBudget | undefined;
  /** Epoch ms of the last answer showing VergeOS up and the credentials good (readiness reads it instead of probing). */
  lastAnswerAt: number | undefined;
  /** Epoch ms of the last failure showing VergeOS not working (unreachable, 5xx, credentials refused). */
  lastTroubleAt: number | undefined;

  constructor(options: VergeosClientOptions) {
    this.origin = parseOrigin(options.url);
    this.#authorization = authorizationHeader(options.auth);
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.#logger = options.logger;
    this.#slots = new Semaphore(options.maxInFlight ?? 8);
    this.budget =
      options.budget ??
      (options.rateLimit
        ? sharedBudget(createHash('sha256').update(`${this.origin}\0${this.#authorization}`).digest('hex'), {
            perHour: options.rateLimit.perHour,
            ...(options.rateLimit.burst === undefined ? {} : { burst: options.rateLimit.burst }),
            ...(options.rateLimit.clock ? { clock: options.rateLimit.clock } : {}),
          })
        : undefined);
    const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    if (options.dispatcher) {
      this.#dispatcher = options.dispatcher;
      this.#ownsDispatcher = false;
    } else {
      const ca = options.ca ?? (options.caFile ? readCaFile(options.caFile) : undefined);
      if (options.insecure && this.origin.startsWith('https:') && !insecureWarned.has(this.origin)) {
        insecureWarned.add(this.origin);
        this.#logger?.warn(
          { origin: this.origin },
          'TLS certificate verification is OFF for VergeOS (insecure switch): anyone on the network path can impersonate it. Use a CA file instead.',
        );
      }
      this.#dispatcher = new Pool(this.origin, {
        connections: options.maxInFlight ?? 8,
        pipelining: 1,
        keepAliveTimeout: 4_000,
        headersTimeout: timeouts.headersMs,
        bodyTimeout: timeouts.bodyMs,
        connect: {
          timeout: timeouts.connectMs,
          ...(ca ? { ca } : {}),
          rejectUnauthorized: !options.insecure,
        },
      });
      this.#ownsDispatcher = true;
    }
  }

  /**
   * One logical call: retried (GET/PUT/DELETE only) on reset, timeout, 5xx and 429 (after the
   * `Retry-After` VergeOS asked for); never on other 4xx. A POST, or a call sent `once`, is never re-sent here.
   */
  async call(options: CallOptions): Promise<CallResult> {
    const endpoint = `${options.method} ${API_PREFIX}${options.path}`;
    const idempotent = options.once !== true && (options.method === 'GET' || options.method === 'DELETE' || options.method === 'PUT');
    const purpose = currentPurpose();
    for (let attempt = 0; ; attempt++) {
      try {
        const budget = this.budget;
        // Without a budget the call costs nothing extra: no token, no pause to check.
        const result = budget
          ? await this.#budgeted(purpose, endpoint).then(() =>
              this.#slots.run(async () => {
                // A pause that began while this call waited for a connection slot holds it too.
                if (budget.paused) await budget.whenUnpaused();
                try {
                  return await this.#once(options, endpoint, idempotent, purpose);
                } catch (err) {
                  // Paused before the slot passes on, so the next call in line sees the pause.
                  this.#pushedBack(err as VergeosError);
                  throw err;
                }
              }),
            )
          : await this.#slots.run(() => this.#once(options, endpoint, idempotent, purpose));
        this.budget?.answered();
        return result;
      } catch (err) {
        const error = err as VergeosError;
        // Given up in the budget's queue: nothing was sent, nothing to learn about VergeOS, no retry.
        if (error.transportCode === BUDGET_WAIT_ABANDONED) throw error;
        if (error.status === undefined || error.status >= 500 || error.status === 401 || error.status === 403) this.lastTroubleAt = Date.now();
        // An earlier DELETE attempt may have landed before its answer was lost: gone is done.
        if (options.method === 'DELETE' && attempt > 0 && error.code === 'VERGEOS_NOT_FOUND') return { status: 404, body: undefined };
        const waitAsked = error.retryAfterMs ?? 0;
        const mayRetry = idempotent && error.retrySafe && isTransient(error.code) && attempt < this.#retry.retries && waitAsked <= this.#maxRetryAfterMs;
        if (!mayRetry) throw error;
        const delay = Math.max(waitAsked, backoffDelay(attempt, this.#retry));
        this.#logger?.warn(
          { endpoint, code: error.code, status: error.status, attempt: attempt + 1, delayMs: Math.round(delay) },
          'VergeOS call failed; retrying',
        );
        await (this.budget?.clock ?? realClock).wait(delay, NEVER);
      }
    }
  }

  /**
   * A token from the budget (waiting behind earlier callers and any shared pause), the wait counted.
   * A caller whose answer was abandoned meanwhile (a deadline passed) gives up unsent: a timeout.
   */
  async #budgeted(purpose: Purpose, endpoint: string): Promise<void> {
    if (!this.budget) return;
    let waited: number;
    try {
      waited = await this.budget.take(purpose, currentDeadline());
    } catch (err) {
      if (!(err instanceof BudgetWaitAbandoned)) throw err;
      vergeosBudgetWaitSeconds.inc({ purpose }, err.waitedMs / 1000);
      throw new VergeosError({ code: 'VERGEOS_TIMEOUT', endpoint, transportCode: BUDGET_WAIT_ABANDONED, retrySafe: true, outcomeUnknown: false });
    }
    if (waited > 0) vergeosBudgetWaitSeconds.inc({ purpose }, waited / 1000);
  }

  /** VergeOS pushing back pauses every caller: a 429 for its Retry-After, a 502/503/504 or a dropped connection for a back-off. */
  #pushedBack(error: VergeosError): void {
    if (!this.budget) return;
    if (error.code === 'VERGEOS_RATE_LIMITED') this.budget.rateLimited(error.retryAfterMs);
    else if (error.status === 502 || error.status === 503 || error.status === 504) this.budget.troubled('unavailable');
    else if (error.status === undefined && error.transportCode !== undefined && DROPPED_CODES.has(error.transportCode)) this.budget.troubled('dropped');
    else if (error.status !== undefined) this.budget.answered();
  }

  async #once(options: CallOptions, endpoint: string, idempotent: boolean, purpose: Purpose): Promise<CallResult> {
    const started = performance.now();
    const labels = { method: options.method, endpoint: endpointLabel(options.path) };
    try {
      const result = await this.#exchange(options, endpoint, idempotent, started);
      vergeosRequestsTotal.inc({ ...labels, status: String(result.status), purpose });
      return result;
    } catch (err) {
      const e = err as VergeosError;
      vergeosRequestsTotal.inc({
        ...labels,
        status: e.status === undefined ? e.code.replace(/^VERGEOS_/, '').toLowerCase() : String(e.status),
        purpose,
      });
      throw err;
    } finally {
      vergeosRequestSeconds.observe(labels, (performance.now() - started) / 1000);
    }
  }

  async #exchange(options: CallOptions, endpoint: string, idempotent: boolean, started: number): Promise<CallResult> {
    let response: Dispatcher.ResponseData;
    try {
      response = await this.#dispatcher.request({
        origin: this.origin,
        method: options.method,
        path: API_PREFIX + options.path + queryString(options.query),
        headers: {
          authorization: this.#authorization,
          accept: 'application/json',
          'x-json-non-compact': '1',
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: options.body === undefined ? null : JSON.stringify(options.body),
      });
    } catch (err) {
      throw transportError(err, endpoint, idempotent);
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (err) {
      throw transportError(err, endpoint, idempotent);
    }
    const status = response.statusCode;
    if (status < 500 && status !== 401 && status !== 403 && status !== 429) this.lastAnswerAt = Date.now();
    this.#logger?.debug({ endpoint, status, ms: Math.round(performance.now() - started) }, 'VergeOS call');
    if (status >= 400 && !options.answerStatuses?.includes(status)) throw httpError(status, text, endpoint, idempotent, response.headers['retry-after']);
    if (text.trim() === '') return { status, body: undefined };
    try {
      return { status, body: JSON.parse(text) };
    } catch {
      throw new VergeosError({
        code: 'VERGEOS_BAD_RESPONSE',
        status,
        endpoint,
        vergeosMessage: `not JSON: ${snippet(text)}`,
        retrySafe: idempotent,
        outcomeUnknown: !idempotent,
      });
    }
  }

  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  /** Never show the credentials, even to a debugger's inspect(). */
  [inspect.custom](): string {
    return `VergeosTransport { origin: '${this.origin}', auth: '***' }`;
  }

  toJSON(): Record<string, unknown> {
    return { origin: this.origin, auth: '***' };
  }
}

function isTransient(code: VergeosErrorCode): boolean {
  return code === 'VERGEOS_UNAVAILABLE' || code === 'VERGEOS_TIMEOUT' || code === 'VERGEOS_SERVER_ERROR' || code === 'VERGEOS_RATE_LIMITED';
}

function parseOrigin(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badSetting('VERGEOS_URL_INVALID', 'VergeOS URL is not a valid URL (expected e.g. https://vergeos.example.com)');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badSetting('VERGEOS_URL_INVALID', 'VergeOS URL must start with https:// or http://');
  if (url.username || url.password)
    throw badSetting('VERGEOS_URL_INVALID', 'VergeOS URL must not contain credentials; use the API key or username/password settings');
  return url.origin;
}

function authorizationHeader(auth: VergeosAuth): string {
  if ('apiKey' in auth) {
    if (!auth.apiKey) throw badSetting('VERGEOS_CREDENTIALS_MISSING', 'VergeOS API key is empty');
    return `Bearer ${auth.apiKey}`;
  }
  if (!auth.username || !auth.password) throw badSetting('VERGEOS_CREDENTIALS_MISSING', 'VergeOS username and password must both be set');
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

/** A client setting the operator gave is wrong (not a VergeosError: nothing was sent to VergeOS). */
function badSetting(code: string, sentence: string): CodedError {
  return new CodedError(code, sentence, { exitCode: EXIT.badInput });
}

function readCaFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw badSetting('VERGEOS_CA_UNREADABLE', `cannot read the VergeOS CA file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

function queryString(query: CallOptions['query']): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

/**
 * What VergeOS said in an error body, read as its own clients read it (pyVergeOS, PSVergeOS):
 * `err`, then `error`, then `message`; `{"err": true, "message": …}` says it in `message`.
 */
export function errorText(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const fields = body as { err?: unknown; error?: unknown; message?: unknown };
  for (const value of [fields.err, fields.error, fields.message]) if (typeof value === 'string' && value.trim() !== '') return value;
  return undefined;
}

function httpError(status: number, text: string, endpoint: string, idempotent: boolean, retryAfter?: string | string[]): VergeosError {
  let said: string | undefined;
  if (text.trim() !== '') {
    try {
      const parsed = JSON.parse(text) as unknown;
      said = errorText(parsed) ?? snippet(text);
    } catch {
      said = snippet(text);
    }
  }
  const code = codeForStatus(status, said);
  if (code === 'VERGEOS_RATE_LIMITED') {
    // A read may wait and ask again. A POST is not re-sent: the caller looks the object up first,
    // since a proxy or a later VergeOS may answer 429 after the request took effect.
    return new VergeosError({
      code,
      status,
      endpoint,
      vergeosMessage: said,
      retrySafe: idempotent,
      outcomeUnknown: !idempotent,
      retryAfterMs: parseRetryAfter(retryAfter),
    });
  }
  return new VergeosError({
    code,
    status,
    endpoint,
    vergeosMessage: said ?? `HTTP ${status} with an empty body`,
    // 5xx on a GET may pass; a 5xx on a POST may have half-happened, so the caller must look before
    // re-sending. 507 is the exception: VergeOS refused for want of space, nothing was stored.
    retrySafe: idempotent && status >= 500 && status !== 507,
    outcomeUnknown: !idempotent && status >= 500 && status !== 507,
  });
}

function transportError(err: unknown, endpoint: string, idempotent: boolean): VergeosError {
  const transportCode = errorCode(err);
  const notSent = NOT_SENT_CODES.has(transportCode);
  let code: VergeosErrorCode = 'VERGEOS_UNAVAILABLE';
  if (TIMEOUT_CODES.has(transportCode)) code = 'VERGEOS_TIMEOUT';
  if (TLS_CODES.has(transportCode) || /certificate|self[- ]signed/i.test(errorMessage(err))) code = 'VERGEOS_TLS';
  return new VergeosError({
    code,
    endpoint,
    transportCode,
    retrySafe: code !== 'VERGEOS_TLS' && (idempotent || notSent),
    outcomeUnknown: !idempotent && !notSent && code !== 'VERGEOS_TLS',
  });
}

function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; cause?: unknown };
    if (typeof e.code === 'string' && e.code !== 'UND_ERR_SOCKET') return e.code;
    const inner = e.cause ? errorCode(e.cause) : '';
    if (inner) return inner;
    if (typeof e.code === 'string') return e.code;
  }
  return 'UNKNOWN';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
