import { join } from 'node:path';
import {
  AUDIT_CSV_COLUMNS,
  AUDIT_FILE,
  auditCsvRow,
  auditRecordSchema,
  readAuditRecords,
  verifyAuditLog,
  verifyChain,
  type AuditRecord,
} from '../store/audit.js';
import { readPostgresAudit } from '../store/postgres/audit.js';
import { describeUrl } from '../store/postgres/store.js';
import { CliExit, config, EXIT } from './context.js';

/** The audit log the environment names: PostgreSQL with DATABASE_URL, else DATA_DIR's file. */
function auditSource(): { where: string; records: (since?: Date) => AsyncIterable<AuditRecord>; verify: () => ReturnType<typeof verifyAuditLog> } {
  const env = config([]);
  if (env.DATABASE_URL) {
    const url = env.DATABASE_URL;
    return {
      where: `${describeUrl(url)} (table audit, seq)`,
      records: async function* (since) {
        for await (const raw of readPostgresAudit(url, since)) {
          const parsed = auditRecordSchema.safeParse(raw);
          if (parsed.success) yield parsed.data;
        }
      },
      verify: () => verifyChain(readPostgresAudit(url)),
    };
  }
  const file = join(env.DATA_DIR, AUDIT_FILE);
  return { where: file, records: (since) => readAuditRecords(file, since), verify: () => verifyAuditLog(file) };
}

export async function auditCommand(opts: { json?: boolean; csv?: boolean; since?: string }): Promise<void> {
  const since = opts.since === undefined ? undefined : new Date(opts.since);
  if (since && Number.isNaN(since.getTime())) throw new CliExit(EXIT.badInput, `--since: not a date: ${opts.since}`);
  const out = process.stdout;
  if (opts.csv) out.write(`${AUDIT_CSV_COLUMNS.join(',')}\n`);
  if (opts.json) out.write('[');
  let first = true;
  for await (const record of auditSource().records(since)) {
    if (opts.csv) out.write(`${auditCsvRow(record)}\n`);
    else if (opts.json) out.write(`${first ? '\n' : ',\n'}  ${JSON.stringify(record)}`);
    else out.write(`${JSON.stringify(record)}\n`);
    first = false;
  }
  if (opts.json) out.write(first ? ']\n' : '\n]\n');
}

export async function verifyCommand(): Promise<void> {
  const source = auditSource();
  const result = await source.verify();
  if (!result.ok) throw new CliExit(EXIT.failed, `${source.where}:${result.line}: ${result.problem} (the ${result.records} records before it verify)`);
  process.stdout.write(`${source.where}: ${result.records} records, chain intact\n`);
  if (result.torn)
    process.stdout.write(
      `${source.where}:${result.torn.line}: the last line (${result.torn.bytes} bytes) is an interrupted write, not a record; the bot cuts it off (keeping it beside the file) when it next starts\n`,
    );
}
