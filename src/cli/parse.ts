/** Option parsers: they run while the command line is read, so bad values fail before any work. */
import { InvalidArgumentError } from 'commander';
import { CliExit, EXIT } from './exit.js';

export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new CliExit(EXIT.badInput, '--count must be a whole number from 1 to 500');
  return n;
}

export function parseMargin(value: string): number {
  const n = Number(value.replace(/%$/, ''));
  if (!Number.isFinite(n) || n < 0 || n >= 100) throw new CliExit(EXIT.badInput, '--tier-margin must be a percentage from 0 to 99');
  return n;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}

export function parseNonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of milliseconds, 0 or more');
  return n;
}

export function parseFactor(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1000) throw new InvalidArgumentError("expected a number above 0 (1 = Slack's own limits)");
  return n;
}
