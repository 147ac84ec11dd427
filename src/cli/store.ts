import { join } from 'node:path';
import { newest } from '../store/archive-index.js';
import { AUDIT_FILE, readAuditRecords, verifyAuditLog } from '../store/audit.js';
import { LowdbStore } from '../store/lowdb.js';
import { importIntoPostgres } from '../store/postgres/import.js';
import { describeUrl } from '../store/postgres/store.js';
import { StoreError } from '../store/store.js';
import { CliExit, config, EXIT } from './context.js';

export async function storeMigrateCommand(opts: { from: string; to?: string }): Promise<void> {
  const to = opts.to ?? config([]).DATABASE_URL;
  if (!to || !/^postgres(ql)?:\/\//.test(to)) throw new CliExit(EXIT.badInput, '--to must be a postgres:// URL (or set DATABASE_URL)');
  const auditFile = join(opts.from, AUDIT_FILE);
  const chain = await verifyAuditLog(auditFile);
  if (!chain.ok)
    throw new CliExit(EXIT.failed, `${auditFile}:${chain.line}: ${chain.problem}; the audit log must verify before it is copied. Nothing was copied.`);
  let source: LowdbStore;
  try {
    source = await LowdbStore.open(opts.from, { readOnly: true });
  } catch (err) {
    if (err instanceof StoreError) throw new CliExit(EXIT.badInput, err.message);
    throw err;
  }
  try {
    // The working set's version of a record is its newest; the archive's older copies give way.
    const requests = newest([...(await source.readArchived('requests')), ...source.listRequests()]);
    const runs = newest([...(await source.readArchived('runs')), ...source.listRuns()]);
    const vms = newest([...(await source.readArchived('vms')), ...source.listVms()]);
    const highest = Math.max(source.counter('request'), ...requests.map((r) => Number(r.id.slice(4))));
    // The copied chain is verified inside the import's transaction: a mismatch rolls it all back.
    const copied = await importIntoPostgres(to, { requests, runs, vms, requestNumber: highest, audit: readAuditRecords(auditFile) }).catch((err: unknown) => {
      if (err instanceof StoreError) throw new CliExit(EXIT.failed, `${err.message}. Nothing was copied.`);
      throw err;
    });
    process.stdout.write(
      `Copied ${copied.requests} requests, ${copied.runs} runs, ${copied.vms} VMs and ${copied.audit} audit records from ${opts.from} to ${describeUrl(to)}; REQ numbers continue after REQ-${highest}; the audit chain verifies (${copied.audit} records).\n` +
        `Start the bot with DATABASE_URL set; ${opts.from} is no longer read (keep it as a backup).\n`,
    );
  } finally {
    await source.close();
  }
}
