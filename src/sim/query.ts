/**
 * VergeOS list-query parameters as the simulator understands them: `filter` (OData-like:
 * eq ne gt ge lt le ct, and/or, parentheses; strings quoted with '…', a quote escaped either as
 * \' or '' since releases differ), `fields` (comma list, `a#b#c as alias` joins), `sort`,
 * `limit`, `offset`.
 */
import { text } from '../text.js';

export type Row = Record<string, unknown>;
export type Predicate = (row: Row) => boolean;

type Token = { kind: 'word'; value: string } | { kind: 'string'; value: string } | { kind: 'paren'; value: '(' | ')' };

export class QueryError extends Error {}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '(' || ch === ')') {
      tokens.push({ kind: 'paren', value: ch });
      i++;
    } else if (ch === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= input.length) throw new QueryError('unterminated string in filter');
        const c = input[i]!;
        if (c === '\\' && input[i + 1] === "'") {
          value += "'";
          i += 2;
        } else if (c === "'" && input[i + 1] === "'") {
          value += "'";
          i += 2;
        } else if (c === "'") {
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
      tokens.push({ kind: 'string', value });
    } else {
      let value = '';
      while (i < input.length && !/[\s()']/.test(input[i]!)) value += input[i++];
      tokens.push({ kind: 'word', value });
    }
  }
  return tokens;
}

const OPERATORS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'ct']);

export function parseFilter(input: string | undefined): Predicate {
  if (!input || input.trim() === '') return () => true;
  const tokens = tokenize(input);
  let pos = 0;
  const peek = () => tokens[pos];

  const parseOr = (): Predicate => {
    let left = parseAnd();
    while (peek()?.kind === 'word' && peek()!.value.toLowerCase() === 'or') {
      pos++;
      const l = left;
      const r = parseAnd();
      left = (row) => l(row) || r(row);
    }
    return left;
  };
  const parseAnd = (): Predicate => {
    let left = parseTerm();
    while (peek()?.kind === 'word' && peek()!.value.toLowerCase() === 'and') {
      pos++;
      const l = left;
      const r = parseTerm();
      left = (row) => l(row) && r(row);
    }
    return left;
  };
  const parseTerm = (): Predicate => {
    const t = tokens[pos++];
    if (!t) throw new QueryError('filter ends too early');
    if (t.kind === 'paren' && t.value === '(') {
      const inner = parseOr();
      const close = tokens[pos++];
      if (!close || close.kind !== 'paren' || close.value !== ')') throw new QueryError('missing ) in filter');
      return inner;
    }
    if (t.kind !== 'word') throw new QueryError(`unexpected ${t.value} in filter`);
    const op = tokens[pos++];
    if (!op || op.kind !== 'word' || !OPERATORS.has(op.value.toLowerCase())) throw new QueryError(`unknown operator after ${t.value}`);
    const valueToken = tokens[pos++];
    if (!valueToken || valueToken.kind === 'paren') throw new QueryError(`missing value after ${t.value} ${op.value}`);
    const value = literal(valueToken);
    return comparison(t.value, op.value.toLowerCase(), value);
  };

  const predicate = parseOr();
  if (pos !== tokens.length) throw new QueryError('unexpected text at the end of the filter');
  return predicate;
}

function literal(token: Token): string | number | boolean | null {
  if (token.kind === 'string') return token.value;
  const w = token.value;
  if (w === 'true') return true;
  if (w === 'false') return false;
  if (w === 'null') return null;
  if (/^-?\d+(\.\d+)?$/.test(w)) return Number(w);
  return w;
}

function comparison(field: string, op: string, value: string | number | boolean | null): Predicate {
  return (row) => {
    const raw = row[field];
    // A boolean column compared with 1 or 0 (pyVergeOS's `downloaded eq 1`) reads as true/false.
    const expected = typeof raw === 'boolean' && (value === 1 || value === 0) ? String(value === 1) : normalize(value);
    const actual = normalize(raw);
    switch (op) {
      case 'eq':
        return actual === expected;
      case 'ne':
        return actual !== expected;
      case 'ct':
        return String(actual ?? '')
          .toLowerCase()
          .includes(String(expected ?? '').toLowerCase());
      default: {
        const a = Number(actual);
        const b = Number(expected);
        if (op === 'gt') return a > b;
        if (op === 'ge') return a >= b;
        if (op === 'lt') return a < b;
        return a <= b;
      }
    }
  };
}

/** VergeOS compares keys loosely: 54 and "54" are the same key; booleans may be stored as strings. */
function normalize(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return text(v);
}

export interface FieldSpec {
  /** Path into the row, following foreign keys with `#`. */
  path: string[];
  alias: string;
}

/** `undefined` means "all fields" (also for `all`, `most`, `summary`). */
export function parseFields(input: string | undefined): FieldSpec[] | undefined {
  if (!input || ['all', 'most', 'summary'].includes(input.trim())) return undefined;
  return input
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean)
    .map((f) => {
      const m = /^(.+?)\s+as\s+(\S+)$/i.exec(f);
      const expr = (m ? m[1]! : f).trim();
      const path = expr.split('#');
      return { path, alias: m ? m[2]! : path[path.length - 1]! };
    });
}

export function compareBy(sort: string | undefined): ((a: Row, b: Row) => number) | undefined {
  if (!sort) return undefined;
  const desc = sort.startsWith('-');
  const field = sort.replace(/^[+-]/, '');
  return (a, b) => {
    const x = a[field];
    const y = b[field];
    const cmp = typeof x === 'number' && typeof y === 'number' ? x - y : text(x ?? '').localeCompare(text(y ?? ''));
    return desc ? -cmp : cmp;
  };
}
