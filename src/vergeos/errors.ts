/**
 * One error type for everything that can go wrong talking to VergeOS (a `CodedError`). Callers
 * branch on `code` (stable), show `operatorMessage(err)` to people, and use `retrySafe` /
 * `outcomeUnknown` to decide what to do next. Credentials are never part of any field.
 */
import { CodedError } from '../errors.js';

export const VERGEOS_ERROR_CODES = [
  'VERGEOS_NAME_TAKEN',
  'VERGEOS_TIER_FULL',
  'VERGEOS_UNAUTHORIZED',
  'VERGEOS_FORBIDDEN',
  'VERGEOS_NOT_FOUND',
  'VERGEOS_VALIDATION',
  'VERGEOS_CONFLICT',
  'VERGEOS_RATE_LIMITED',
  'VERGEOS_SERVER_ERROR',
  'VERGEOS_UNAVAILABLE',
  'VERGEOS_TIMEOUT',
  'VERGEOS_TLS',
  'VERGEOS_BAD_RESPONSE',
] as const;

export type VergeosErrorCode = (typeof VERGEOS_ERROR_CODES)[number];

export interface VergeosErrorFields {
  code: VergeosErrorCode;
  /** HTTP status, or undefined when no response arrived. */
  status?: number | undefined;
  /** `METHOD /api/v4/...` — path only, never credentials or the host's userinfo. */
  endpoint: string;
  /** VergeOS's own `err` text (or the start of a non-JSON body). */
  vergeosMessage?: string | undefined;
  /** True when sending the same request again cannot create or change anything twice. */
  retrySafe: boolean;
  /** True for a POST that may or may not have taken effect (sent, then reset or timed out). */
  outcomeUnknown?: boolean;
  /** Underlying transport error code (ECONNRESET, UND_ERR_HEADERS_TIMEOUT, …). */
  transportCode?: string | undefined;
  /** From a 429's `Retry-After`: how long VergeOS asked the bot to wait. */
  retryAfterMs?: number | undefined;
}

export class VergeosError extends CodedError {
  override readonly name = 'VergeosError';
  declare readonly code: VergeosErrorCode;
  readonly status: number | undefined;
  readonly endpoint: string;
  readonly vergeosMessage: string | undefined;
  readonly retrySafe: boolean;
  readonly outcomeUnknown: boolean;
  readonly transportCode: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(fields: VergeosErrorFields) {
    // The message stays the log line (code, status, endpoint); operatorMessage() is the sentence for people.
    super(fields.code, summarize(fields));
    this.status = fields.status;
    this.endpoint = fields.endpoint;
    this.vergeosMessage = fields.vergeosMessage;
    this.retrySafe = fields.retrySafe;
    this.outcomeUnknown = fields.outcomeUnknown ?? false;
    this.transportCode = fields.transportCode;
    this.retryAfterMs = fields.retryAfterMs;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      status: this.status,
      endpoint: this.endpoint,
      vergeosMessage: this.vergeosMessage,
      retrySafe: this.retrySafe,
      outcomeUnknown: this.outcomeUnknown,
      transportCode: this.transportCode,
      retryAfterMs: this.retryAfterMs,
      message: this.message,
    };
  }
}

export function isVergeosError(value: unknown): value is VergeosError {
  return value instanceof VergeosError;
}

function summarize(f: VergeosErrorFields): string {
  const status = f.status === undefined ? '' : ` ${f.status}`;
  const detail = f.vergeosMessage ? `: ${f.vergeosMessage}` : f.transportCode ? ` (${f.transportCode})` : '';
  return `${f.code}${status} on ${f.endpoint}${detail}`;
}

/** Map an HTTP error response to a code. 409 and 422 "already in use" both mean the name is taken. */
export function codeForStatus(status: number, vergeosMessage: string | undefined): VergeosErrorCode {
  const alreadyInUse = /already in use|already exists/i.test(vergeosMessage ?? '');
  if ((status === 409 || status === 422) && alreadyInUse) return 'VERGEOS_NAME_TAKEN';
  if (status === 401) return 'VERGEOS_UNAUTHORIZED';
  if (status === 403) return 'VERGEOS_FORBIDDEN';
  if (status === 404) return 'VERGEOS_NOT_FOUND';
  if (status === 507) return 'VERGEOS_TIER_FULL';
  if (status === 409) return 'VERGEOS_CONFLICT';
  if (status === 429) return 'VERGEOS_RATE_LIMITED';
  if (status === 400 || status === 405 || status === 422) return 'VERGEOS_VALIDATION';
  if (status === 502 || status === 503 || status === 504) return 'VERGEOS_UNAVAILABLE';
  return 'VERGEOS_SERVER_ERROR';
}

const OPERATOR_SENTENCES: Record<VergeosErrorCode, string> = {
  VERGEOS_NAME_TAKEN: 'A VM with that name already exists in VergeOS; pick another name.',
  VERGEOS_TIER_FULL: 'The storage tier is full: choose a smaller disk or another tier.',
  VERGEOS_UNAUTHORIZED:
    "VergeOS refused the bot's credentials (401). Check the API key or username/password; the bot does not retry, to avoid locking the account.",
  VERGEOS_FORBIDDEN: "The bot's VergeOS credentials lack a permission needed for this step (403); ask a VergeOS admin to grant it.",
  VERGEOS_NOT_FOUND: 'VergeOS could not find something this request refers to (404).',
  VERGEOS_VALIDATION: 'VergeOS refused a value in the request.',
  VERGEOS_CONFLICT: "VergeOS refused the step because of the object's current state (409).",
  VERGEOS_RATE_LIMITED:
    "VergeOS is rate-limiting the bot's API key (429): it asked the bot to slow down. Nothing was sent twice; try again in a minute, or ask a VergeOS admin to raise the key's request budget.",
  VERGEOS_SERVER_ERROR: 'VergeOS failed with an internal error.',
  VERGEOS_UNAVAILABLE: 'VergeOS did not answer (connection refused, reset or unavailable).',
  VERGEOS_TIMEOUT: 'VergeOS did not answer in time.',
  VERGEOS_TLS: "VergeOS's TLS certificate is not trusted: set VERGEOS_CA_FILE to its CA certificate (or, for a lab, VERGEOS_TLS_INSECURE=true).",
  VERGEOS_BAD_RESPONSE: 'VergeOS answered with something the bot could not understand.',
};

/** The one place a code becomes a sentence for people. VergeOS's own text is appended when it adds something. */
export function operatorMessage(err: VergeosError): string {
  const base = OPERATOR_SENTENCES[err.code];
  const said = err.vergeosMessage?.trim();
  return said ? `${base} VergeOS said: "${said}".` : base;
}
