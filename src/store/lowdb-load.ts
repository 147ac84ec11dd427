/**
 * Reading the embedded store back at open: the snapshot (trusted when its digest matches, else
 * validated in full), then each journal's newer versions onto the tables. A torn last line of a
 * journal is cut off by the writer (kept beside it, and noted); damage before it stops the start.
 */
import type { Low } from 'lowdb';
import { formatPath } from '../vmspec/validate.js';
import type { IndexedTable } from './indexed-table.js';
import { readJournal, type StoredRecord, type Table } from './journal.js';
import { storeFileSchema, withRequestKind, type RequestRecord, type RunRecord, type StoreFile, type VmRecord } from './records.js';
import type { SnapshotFile } from './snapshot-file.js';
import type { RequestIndex, RunIndex, VmIndex } from './store.js';
import { StoreError } from './store.js';
import { setAsideTail, tornTailNote } from './torn-tail.js';

/** The snapshot's contents, checked: a file this bot wrote (its digest matches) is taken as it is. */
export async function readSnapshot(db: Low<StoreFile>, snapshot: SnapshotFile): Promise<StoreFile> {
  try {
    await db.read();
  } catch (err) {
    throw new StoreError(
      'STORE_CORRUPT',
      `${snapshot.path} is not valid JSON (${(err as Error).message}). Fix or move it away; the bot will not overwrite it.`,
    );
  }
  // A snapshot this bot wrote is not validated again; its older requests are given their kind, and
  // one written before VM records has none.
  if (snapshot.trusted) {
    const read: Omit<StoreFile, 'vms'> & { vms?: VmRecord[] } = db.data;
    return { ...read, requests: read.requests.map(withRequestKind), vms: read.vms ?? [] };
  }
  const parsed = storeFileSchema.safeParse(db.data);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${formatPath(i.path)}: ${i.message}`);
    throw new StoreError(
      'STORE_CORRUPT',
      `${snapshot.path} does not look like a vmbot store (${issues.join('; ')}). Fix or move it away; the bot will not overwrite it.`,
    );
  }
  return parsed.data;
}

export interface ReplayTarget {
  runs: IndexedTable<RunRecord, RunIndex>;
  requests: IndexedTable<RequestRecord, RequestIndex>;
  vms: IndexedTable<VmRecord, VmIndex>;
  counters: Record<string, number>;
  /** What was mended (a torn last line cut off); only a writer cuts. */
  notes: string[] | undefined;
}

/** Newer versions of records from one journal onto the tables. */
export function replayJournal(path: string, into: ReplayTarget): void {
  const table = (name: Table) => into[name] as IndexedTable<StoredRecord, string>;
  const { entries, torn } = readJournal(path);
  for (const entry of entries) {
    if (entry.kind === 'remove') table(entry.table).delete(entry.id);
    else if (entry.kind === 'record') {
      const current = table(entry.table).get(entry.record.id);
      if (!current || current.version < entry.record.version) table(entry.table).set(entry.record);
    } else if (entry.kind === 'counter') into.counters[entry.name] = Math.max(into.counters[entry.name] ?? 0, entry.value);
  }
  if (torn && into.notes) into.notes.push(tornTailNote(path, torn.line, torn.bytes, setAsideTail(path, torn.offset, 'torn')));
}
