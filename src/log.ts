/**
 * Logging: pino with redaction of every field that could hold a secret. Library code takes the
 * small `Logger` interface so tests can capture lines and callers can pass any pino logger.
 */
import { pino, type DestinationStream } from 'pino';
import { text } from './text.js';

export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Field names whose values are secrets wherever they appear in a log line. */
export const SECRET_FIELDS = ['authorization', 'apiKey', 'api_key', 'password', 'token', 'botToken', 'appToken', 'signingSecret', 'console_pass_hash'] as const;

const REDACT_PATHS = SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);

export type LogFormat = 'auto' | 'json' | 'pretty';

export function createLogger(options: { level?: string; destination?: DestinationStream; name?: string; format?: LogFormat } = {}): Logger {
  // stderr, so that `--json` output on stdout stays one clean JSON object.
  const stderr = options.destination ?? pino.destination({ fd: 2, sync: true });
  const format = options.format ?? (process.env.LOG_FORMAT as LogFormat | undefined) ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && !options.destination && process.stderr.isTTY === true);
  return pino(
    {
      name: options.name ?? 'vmbot',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '***' },
    },
    pretty ? prettyLines(stderr, process.stderr.isTTY === true && !options.destination) : stderr,
  );
}

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

/**
 * One line per record for people: `14:02:07.123 INFO  message key=value …`. The record is
 * pino's own (redacted) JSON, so nothing a JSON log would hide shows here.
 */
export function prettyLines(out: DestinationStream, color: boolean): DestinationStream {
  return {
    write(line: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const [label, tint] = LEVELS[Number(record.level)] ?? ['LOG  ', ''];
      const time = new Date(Number(record.time)).toISOString().slice(11, 23);
      const fields = Object.entries(record)
        .filter(([k]) => !HIDDEN.has(k))
        .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
        .join(' ');
      const level = color ? `${tint}${label}\x1b[0m` : label;
      out.write(`${time} ${level} ${text(record.msg)}${fields ? ` ${fields}` : ''}\n`);
    },
  };
}
