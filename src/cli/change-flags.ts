/**
 * Option parsers of the day-2 commands: they run while the command line is read (so `vmbot
 * resize --help` needs nothing more), each naming its own flag (exit 2, bad input).
 */
import { parseDuration } from '../vmspec/units.js';
import { CliExit, EXIT } from './exit.js';

/** `--cpu`: digits only (the schema then says the range). */
export function parseCores(value: string): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new CliExit(EXIT.badInput, `--cpu must be a whole number of cores (got "${value}")`);
  return n;
}

/** `--expires 7d`: a duration from now, or `never`. */
export function parseExpires(value: string): number | 'never' {
  if (value.trim() === 'never') return 'never';
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw new CliExit(EXIT.badInput, `--expires must be a duration like 7d or 12h, or never (got "${value}")`);
  return ms;
}
