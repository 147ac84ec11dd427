/**
 * `archive.jsonl`: old finished records moved out of the embedded store's working set, one JSON
 * line each (`{ table, record }`), appended only. Found one at a time through `archive-index.ts`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Span } from './archive-index.js';
import { AppendOnlyFile, type FileSystem } from './durable-file.js';
import type { IndexedTable } from './indexed-table.js';
import { RECORD_SCHEMAS, type StoredRecord, type Table } from './journal.js';
import type { RequestRecord, RunRecord, VmRecord } from './records.js';
import type { RequestIndex, RunIndex, VmIndex } from './store.js';
import { DONE_RUN_STATES } from './run-states.js';
import { CLOSED_REQUEST_STATES } from './request-states.js';
import { ENDED_VM_STATES, holdsSize, vmIdOf } from './vm-record.js';

export const ARCHIVE_FILE = 'archive.jsonl';

/** The tables a store archives from. */
export interface ArchivedTables {
  runs: IndexedTable<RunRecord, RunIndex>;
  requests: IndexedTable<RequestRecord, RequestIndex>;
  vms: IndexedTable<VmRecord, VmIndex>;
}

/**
 * Old finished records, to move to the archive: closed requests, and runs and VM records done
 * with. A run goes with its request, and only when both are done with. A succeeded run's VM lives
 * on, so a run and its VM record leave together, once the record has ended (deleted, or gone) and
 * both are old; a succeeded run from before VM records leaves once it says its VM is gone.
 */
export function oldFinished(tables: ArchivedTables, cutoff: number): Array<{ table: Table; record: StoredRecord }> {
  const { runs, requests, vms } = tables;
  const old = (r: { updatedAt: string }) => Date.parse(r.updatedAt) <= cutoff;
  const leaving = CLOSED_REQUEST_STATES.flatMap((state) => requests.lookup('state', state).filter(old));
  const leavingIds = new Set(leaving.map((r) => r.id));
  const stays = (requestId: string | undefined) => requestId !== undefined && requests.has(requestId) && !leavingIds.has(requestId);
  const vmDone = (vm: VmRecord) => !holdsSize(vm) && old(vm);
  const runDone = (run: RunRecord, done: boolean) => {
    const vm = vms.get(vmIdOf(run.id));
    return old(run) && !stays(run.requestId) && (vm ? vmDone(vm) : done || run.goneAt !== undefined);
  };
  const runsLeaving = [
    ...DONE_RUN_STATES.flatMap((state) => runs.lookup('state', state)).filter((r) => runDone(r, true)),
    ...runs.lookup('state', 'succeeded').filter((r) => runDone(r, false)),
  ];
  const runLeaving = new Set(runsLeaving.map((r) => r.id));
  // A VM record whose run stays (its request is open, or it was changed lately) stays with it.
  const vmsLeaving = ENDED_VM_STATES.flatMap((state) => vms.lookup('state', state)).filter(
    (vm) => vmDone(vm) && (!runs.has(vm.runId) || runLeaving.has(vm.runId)),
  );
  return [
    ...runsLeaving.map((record) => ({ table: 'runs' as const, record })),
    ...leaving.map((record) => ({ table: 'requests' as const, record })),
    ...vmsLeaving.map((record) => ({ table: 'vms' as const, record })),
  ];
}

/**
 * Appends records to the archive, all or none, on disk when this resolves (their removal from the
 * working set is journaled next); where each line went (for the index).
 */
export async function appendToArchive(path: string, lines: ReadonlyArray<{ table: Table; record: StoredRecord }>, fs?: FileSystem): Promise<Span[]> {
  const texts = lines.map((l) => `${JSON.stringify(l)}\n`);
  const file = AppendOnlyFile.open(path, fs);
  try {
    let offset = file.size; // the archive ends with a newline: a torn last line was cut off at open
    file.append(texts.join(''));
    await file.sync();
    return texts.map((text) => {
      const span = { offset, length: Buffer.byteLength(text) };
      offset += span.length;
      return span;
    });
  } finally {
    await file.close();
  }
}

/** Archived records of one table, newest version of each, oldest first. */
export async function readArchive(dataDir: string, table: 'runs'): Promise<RunRecord[]>;
export async function readArchive(dataDir: string, table: 'requests'): Promise<RequestRecord[]>;
export async function readArchive(dataDir: string, table: 'vms'): Promise<VmRecord[]>;
export async function readArchive(dataDir: string, table: Table): Promise<StoredRecord[]>;
export async function readArchive(dataDir: string, table: Table): Promise<StoredRecord[]> {
  const path = join(dataDir, ARCHIVE_FILE);
  if (!existsSync(path)) return [];
  const schema = RECORD_SCHEMAS[table]; // archived lines carry no checksum: validated
  const newest = new Map<string, StoredRecord>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { table?: string; record?: unknown };
      if (entry.table !== table) continue;
      const parsed = schema.safeParse(entry.record);
      if (!parsed.success) continue;
      const seen = newest.get(parsed.data.id);
      if (!seen || seen.version < parsed.data.version) newest.set(parsed.data.id, parsed.data);
    } catch {
      // a torn last line from a crash mid-append: skip it
    }
  }
  return [...newest.values()];
}
