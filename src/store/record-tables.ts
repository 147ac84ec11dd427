/**
 * The reads both stores answer from memory: requests, runs and VM records in indexed tables (see
 * `indexed-table.ts`), handed out as copies. Each store keeps these tables current its own way —
 * the embedded one from its snapshot and journal, PostgreSQL from the database and its change feed.
 */
import { IndexedTable } from './indexed-table.js';
import type { RequestRecord, RunRecord, VmRecord } from './records.js';
import { copiesOf, REQUEST_INDEXES, RUN_INDEXES, VM_INDEXES, type RequestIndex, type RunIndex, type VmIndex } from './store.js';

export abstract class RecordTables {
  /** Stored records are replaced, never changed in place (the indexes are filed at `set`). */
  protected readonly runs = new IndexedTable<RunRecord, RunIndex>(RUN_INDEXES);
  protected readonly requests = new IndexedTable<RequestRecord, RequestIndex>(REQUEST_INDEXES);
  protected readonly vms = new IndexedTable<VmRecord, VmIndex>(VM_INDEXES);

  getRun(id: string): RunRecord | undefined {
    const run = this.runs.get(id);
    return run ? structuredClone(run) : undefined;
  }

  /** Copies of the runs that pass `filter` (filtered first, so only those are copied). */
  listRuns(filter?: (r: Readonly<RunRecord>) => boolean): RunRecord[] {
    return copiesOf([...this.runs.values()], filter);
  }

  runsBy(index: RunIndex, key: string, filter?: (r: Readonly<RunRecord>) => boolean): RunRecord[] {
    return copiesOf(this.runs.lookup(index, key), filter);
  }

  runKeys(index: RunIndex): string[] {
    return this.runs.keys(index);
  }

  getRequest(id: string): RequestRecord | undefined {
    const request = this.requests.get(id);
    return request ? structuredClone(request) : undefined;
  }

  listRequests(filter?: (r: Readonly<RequestRecord>) => boolean): RequestRecord[] {
    return copiesOf([...this.requests.values()], filter);
  }

  requestsBy(index: RequestIndex, key: string, filter?: (r: Readonly<RequestRecord>) => boolean, newest?: number): RequestRecord[] {
    return copiesOf(this.requests.lookup(index, key), filter, newest);
  }

  countRequests(index: RequestIndex, key: string): number {
    return this.requests.count(index, key);
  }

  getVm(id: string): VmRecord | undefined {
    const vm = this.vms.get(id);
    return vm ? structuredClone(vm) : undefined;
  }

  listVms(filter?: (v: Readonly<VmRecord>) => boolean): VmRecord[] {
    return copiesOf([...this.vms.values()], filter);
  }

  vmsBy(index: VmIndex, key: string, filter?: (v: Readonly<VmRecord>) => boolean): VmRecord[] {
    return copiesOf(this.vms.lookup(index, key), filter);
  }

  vmKeys(index: VmIndex): string[] {
    return this.vms.keys(index);
  }
}
