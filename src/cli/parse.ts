/**
 * Option parsers: they run while the command line is read, so bad values fail before any work,
 * each naming its own flag (exit 2, bad input).
 */
import { parseDuration } from '../vmspec/units.js';
import { CliExit, EXIT } from './exit.js';

function bad(flag: string, what: string): CliExit {
  return new CliExit(EXIT.badInput, `${flag} must be ${what}`);
}

/** Digits only: `Number()` would also take '', ' 4 ', '0x10' and '1e2'. */
function wholeNumber(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw bad(flag, `a whole number from ${min} to ${max} (got "${value}")`);
    return n;
  };
}

export const parseCount = wholeNumber('--count', 1, 500);
export const parseConcurrency = wholeNumber('--concurrency', 1, 500);
export const parsePort = wholeNumber('--port', 0, 65535);

/** A plain decimal number (no hex, no exponent, not empty). */
function decimal(value: string): number {
  return /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
}

export function parseMargin(value: string): number {
  const n = decimal(value.trim().replace(/%$/, ''));
  if (!(n >= 0 && n < 100)) throw bad('--tier-margin', `a percentage from 0 to 99 (got "${value}")`);
  return n;
}

function milliseconds(flag: string): (value: string) => number {
  return (value) => {
    const n = decimal(value);
    if (!(n >= 0)) throw bad(flag, `a number of milliseconds, 0 or more (got "${value}")`);
    return n;
  };
}

export const parseImportMs = milliseconds('--import-ms');
export const parseLatencyMs = milliseconds('--latency-ms');
export const parseAddressMs = milliseconds('--address-ms');

export function parseFactor(value: string): number {
  const n = decimal(value);
  if (!(n > 0 && n <= 1000)) throw bad('--rate-factor', `a number above 0 and at most 1000, 1 being Slack's own limits (got "${value}")`);
  return n;
}

/** A duration like 7d or 12h, in milliseconds, for the flag named. */
export function durationOf(flag: string): (value: string) => number {
  return (value) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms <= 0) throw bad(flag, `a duration like 7d or 12h (got "${value}")`);
    return ms;
  };
}

/** A date (or date and time) JavaScript reads unambiguously: 2026-12-31 or 2026-12-31T18:00:00Z. */
export function dateOf(flag: string): (value: string) => Date {
  return (value) => {
    const date = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim()) ? new Date(value.trim()) : new Date(NaN);
    if (Number.isNaN(date.getTime())) throw bad(flag, `a date like 2026-12-31 or 2026-12-31T18:00:00Z (got "${value}")`);
    return date;
  };
}
