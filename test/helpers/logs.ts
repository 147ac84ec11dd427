import { Writable } from 'node:stream';
import { createLogger, type LogFormat, type Logger } from '../../src/log.js';

/** A real pino logger (with the app's redaction) whose lines are kept in memory. */
export function captureLogger(level = 'debug', format: LogFormat = 'json'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level, destination, format }), lines };
}
