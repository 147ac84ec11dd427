import { describe, expect, it } from 'vitest';
import { compareBy, parseFields, parseFilter, QueryError } from '../../src/sim/query.js';

describe('simulator list queries', () => {
  const rows = [
    { $key: 1, name: "o'brien", machine: 50, is_snapshot: false, size: 10 },
    { $key: 2, name: 'web-01', machine: 51, is_snapshot: true, size: 20 },
    { $key: 3, name: 'web-02', machine: 52, is_snapshot: false, size: 30 },
  ];
  const keys = (filter: string) => rows.filter(parseFilter(filter)).map((r) => r.$key);

  it('filters with eq/ne/gt/ct, and/or and parentheses; keys compare loosely', () => {
    expect(keys("name eq 'web-01'")).toEqual([2]);
    expect(keys('machine eq 52')).toEqual([3]);
    expect(keys("machine eq '52'")).toEqual([3]);
    expect(keys("name ct 'web' and is_snapshot eq false")).toEqual([3]);
    expect(keys('size gt 10 or $key eq 1')).toEqual([1, 2, 3]);
    expect(keys("(name eq 'web-01' or name eq 'web-02') and is_snapshot ne true")).toEqual([3]);
    expect(keys('')).toEqual([1, 2, 3]);
  });

  it('accepts both quote escapes that VergeOS releases use', () => {
    expect(keys("name eq 'o\\'brien'")).toEqual([1]);
    expect(keys("name eq 'o''brien'")).toEqual([1]);
  });

  it('rejects malformed filters with a reason', () => {
    expect(() => parseFilter("name eq 'open")).toThrow(QueryError);
    expect(() => parseFilter('name like 3')).toThrow('unknown operator after name');
    expect(() => parseFilter("(name eq 'a'")).toThrow('missing ) in filter');
    expect(() => parseFilter("name eq 'a' extra")).toThrow();
  });

  it('parses field lists with joins and aliases, and sorts', () => {
    expect(parseFields('all')).toBeUndefined();
    expect(parseFields('$key,machine#status#running as running')).toEqual([
      { path: ['$key'], alias: '$key' },
      { path: ['machine', 'status', 'running'], alias: 'running' },
    ]);
    expect([...rows].sort(compareBy('-size')).map((r) => r.$key)).toEqual([3, 2, 1]);
    expect([...rows].sort(compareBy('+name')).map((r) => r.name)).toEqual(["o'brien", 'web-01', 'web-02']);
  });
});
