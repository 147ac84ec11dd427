/**
 * Logging: pino with redaction of every field that could hold a secret. Library code takes the
 * small `Logger` interface so tests can capture lines and callers can pass any pino logger.
 */
import { pino, type DestinationStream } from 'pino';

export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Field names whose values are secrets wherever they appear in a log line. */
export const SECRET_FIELDS = [
  'authorization',
  'apiKey',
  'api_key',
  'password',
  'token',
  'botToken',
  'appToken',
  'signingSecret',
  'console_pass_hash',
] as const;

const REDACT_PATHS = SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);

export function createLogger(options: { level?: string; destination?: DestinationStream; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'vmbot',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '***' },
    },
    // stderr, so that `--json` output on stdout stays one clean JSON object.
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
