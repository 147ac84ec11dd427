/**
 * Records in memory by id, with secondary indexes (a request's runs, a state, a requester …) kept
 * up to date on every change, so a lookup visits only the records it returns — its cost does not
 * grow with the history kept. Both stores keep their working set in these.
 */
export class IndexedTable<T extends { id: string }, I extends string> {
  readonly #rows = new Map<string, T>();
  readonly #indexes = new Map<I, Map<string, Set<string>>>();

  /** `keyOf`: for each index, the key a record is filed under (undefined: not in that index). */
  constructor(private readonly keyOf: Readonly<Record<I, (row: T) => string | undefined>>) {
    for (const name of Object.keys(keyOf) as I[]) this.#indexes.set(name, new Map());
  }

  get size(): number {
    return this.#rows.size;
  }

  get(id: string): T | undefined {
    return this.#rows.get(id);
  }

  has(id: string): boolean {
    return this.#rows.has(id);
  }

  values(): IterableIterator<T> {
    return this.#rows.values();
  }

  /** Stores `row` (replacing the record with its id), moving it between index keys as they changed. */
  set(row: T): void {
    const before = this.#rows.get(row.id);
    this.#rows.set(row.id, row);
    for (const [name, byKey] of this.#indexes) {
      const keyOf = this.keyOf[name];
      const next = keyOf(row);
      const previous = before ? keyOf(before) : undefined;
      if (before && previous === next) continue;
      if (previous !== undefined) unfile(byKey, previous, row.id);
      if (next !== undefined) {
        let ids = byKey.get(next);
        if (!ids) byKey.set(next, (ids = new Set()));
        ids.add(row.id);
      }
    }
  }

  delete(id: string): boolean {
    const row = this.#rows.get(id);
    if (!row) return false;
    this.#rows.delete(id);
    for (const [name, byKey] of this.#indexes) {
      const key = this.keyOf[name](row);
      if (key !== undefined) unfile(byKey, key, id);
    }
    return true;
  }

  /** The records filed under `key` in `index` (the stored objects: copy before handing out). */
  lookup(index: I, key: string): T[] {
    const ids = this.#indexes.get(index)?.get(key);
    if (!ids) return [];
    const out: T[] = [];
    for (const id of ids) out.push(this.#rows.get(id)!);
    return out;
  }

  /** The keys an index has records under. */
  keys(index: I): string[] {
    return [...(this.#indexes.get(index)?.keys() ?? [])];
  }

  /** How many records are filed under `key`, without visiting them. */
  count(index: I, key: string): number {
    return this.#indexes.get(index)?.get(key)?.size ?? 0;
  }

  clear(): void {
    this.#rows.clear();
    for (const byKey of this.#indexes.values()) byKey.clear();
  }
}

function unfile(byKey: Map<string, Set<string>>, key: string, id: string): void {
  const ids = byKey.get(key);
  if (!ids) return;
  ids.delete(id);
  if (!ids.size) byKey.delete(key);
}
