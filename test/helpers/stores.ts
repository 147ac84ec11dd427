/**
 * Both stores for tests that hold one contract against each — the embedded file in a temporary
 * directory and a real PostgreSQL (a database of its own per test) — and the refusal a
 * compare-and-set gives.
 */
import { afterEach } from 'vitest';
import { LowdbStore } from '../../src/store/lowdb.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { StoreError, type Store } from '../../src/store/store.js';
import { tempDir } from './core.js';
import type { TestPostgres } from './postgres.js';

export interface StoreKind {
  name: string;
  /** A fresh place, opened; `reopen` opens the same place again (after close). */
  open(): Promise<{ store: Store; reopen: () => Promise<Store>; cleanup: () => Promise<void> }>;
}

/** lowdb and PostgreSQL; `postgres()` is the server the test file started. */
export function storeKinds(postgres: () => TestPostgres): StoreKind[] {
  return [
    {
      name: 'lowdb',
      async open() {
        const { dir, remove } = await tempDir();
        return { store: await LowdbStore.open(dir), reopen: () => LowdbStore.open(dir), cleanup: remove };
      },
    },
    {
      name: 'postgres',
      async open() {
        const url = await postgres().database();
        return { store: await PostgresStore.open(url), reopen: () => PostgresStore.open(url), cleanup: async () => {} };
      },
    },
  ];
}

/** The StoreError `promise` is refused with (anything else fails the test). */
export async function storeRefusal(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof StoreError) return err;
    throw err;
  }
  throw new Error('expected a StoreError');
}

/**
 * Call at a test file's top level: `defer` a cleanup to run after the current test (last first),
 * and `dataDir` a temporary data directory removed then.
 */
export function cleanupsAfterEach(): { defer: (cleanup: () => Promise<void>) => void; dataDir: () => Promise<string> } {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  const defer = (cleanup: () => Promise<void>) => void cleanups.push(cleanup);
  return {
    defer,
    async dataDir() {
      const { dir, remove } = await tempDir();
      defer(remove);
      return dir;
    },
  };
}
