import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IndexedTable } from '../../src/store/indexed-table.js';

interface Row {
  id: string;
  state: string;
  owner?: string;
}

describe('IndexedTable', () => {
  it('files each record under its keys and moves it as they change', () => {
    const table = new IndexedTable<Row, 'state' | 'owner'>({ state: (r) => r.state, owner: (r) => r.owner });
    table.set({ id: 'a', state: 'pending', owner: 'U1' });
    table.set({ id: 'b', state: 'pending' });
    expect(table.lookup('state', 'pending').map((r) => r.id)).toEqual(['a', 'b']);
    expect(table.lookup('owner', 'U1').map((r) => r.id)).toEqual(['a']);
    table.set({ id: 'a', state: 'done', owner: 'U2' });
    expect(table.lookup('state', 'pending').map((r) => r.id)).toEqual(['b']);
    expect(table.lookup('state', 'done').map((r) => r.id)).toEqual(['a']);
    expect(table.keys('owner')).toEqual(['U2']);
    expect(table.count('state', 'pending')).toBe(1);
    expect(table.delete('b')).toBe(true);
    expect(table.count('state', 'pending')).toBe(0);
    expect(table.keys('state')).toEqual(['done']);
    expect(table.size).toBe(1);
  });

  it('always answers as a scan of its records would (property)', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('set' as const),
        id: fc.constantFrom('a', 'b', 'c', 'd'),
        state: fc.constantFrom('x', 'y', 'z'),
        owner: fc.option(fc.constantFrom('U1', 'U2')),
      }),
      fc.record({ kind: fc.constant('delete' as const), id: fc.constantFrom('a', 'b', 'c', 'd') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const table = new IndexedTable<Row, 'state' | 'owner'>({ state: (r) => r.state, owner: (r) => r.owner });
        const model = new Map<string, Row>();
        for (const o of ops) {
          if (o.kind === 'set') {
            const row = { id: o.id, state: o.state, ...(o.owner ? { owner: o.owner } : {}) };
            table.set(row);
            model.set(o.id, row);
          } else {
            expect(table.delete(o.id)).toBe(model.delete(o.id));
          }
        }
        for (const state of ['x', 'y', 'z']) {
          const expected = [...model.values()].filter((r) => r.state === state).map((r) => r.id);
          expect(
            table
              .lookup('state', state)
              .map((r) => r.id)
              .sort(),
          ).toEqual(expected.sort());
          expect(table.count('state', state)).toBe(expected.length);
        }
        for (const owner of ['U1', 'U2'])
          expect(
            table
              .lookup('owner', owner)
              .map((r) => r.id)
              .sort(),
          ).toEqual(
            [...model.values()]
              .filter((r) => r.owner === owner)
              .map((r) => r.id)
              .sort(),
          );
        expect(table.keys('owner').sort()).toEqual([...new Set([...model.values()].flatMap((r) => (r.owner ? [r.owner] : [])))].sort());
      }),
      { numRuns: 300 },
    );
  });
});
