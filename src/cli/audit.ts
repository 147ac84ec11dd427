import { join } from 'node:path';
import { AUDIT_CSV_COLUMNS, AUDIT_FILE, auditCsvRow, readAuditRecords, verifyAuditLog } from '../store/audit.js';
import { CliExit, config, EXIT } from './context.js';

export async function auditCommand(opts: { json?: boolean; csv?: boolean; since?: string }): Promise<void> {
  const since = opts.since === undefined ? undefined : new Date(opts.since);
  if (since && Number.isNaN(since.getTime())) throw new CliExit(EXIT.badInput, `--since: not a date: ${opts.since}`);
  const file = join(config([]).DATA_DIR, AUDIT_FILE);
  const out = process.stdout;
  if (opts.csv) out.write(`${AUDIT_CSV_COLUMNS.join(',')}\n`);
  if (opts.json) out.write('[');
  let first = true;
  for await (const record of readAuditRecords(file, since)) {
    if (opts.csv) out.write(`${auditCsvRow(record)}\n`);
    else if (opts.json) out.write(`${first ? '\n' : ',\n'}  ${JSON.stringify(record)}`);
    else out.write(`${JSON.stringify(record)}\n`);
    first = false;
  }
  if (opts.json) out.write(first ? ']\n' : '\n]\n');
}

export async function verifyCommand(): Promise<void> {
  const file = join(config([]).DATA_DIR, AUDIT_FILE);
  const result = await verifyAuditLog(file);
  if (!result.ok) throw new CliExit(EXIT.failed, `${file}:${result.line}: ${result.problem} (the ${result.records} records before it verify)`);
  process.stdout.write(`${file}: ${result.records} records, chain intact\n`);
}
