/** The store and audit log the environment asks for: PostgreSQL with DATABASE_URL, else files in DATA_DIR. */
import type { Env } from '../config.js';
import type { Logger } from '../log.js';
import { LowdbStore } from './lowdb.js';
import { PostgresStore } from './postgres/store.js';
import type { Store } from './store.js';
import { type AuditLog } from './audit.js';
import { FileAuditLog } from './audit-file.js';
import { PostgresAuditLog } from './postgres/audit.js';

export async function openStore(
  env: Pick<Env, 'DATABASE_URL' | 'DATA_DIR' | 'VMBOT_ARCHIVE_AFTER'>,
  options: { readOnly?: boolean; logger?: Logger } = {},
): Promise<Store> {
  if (env.DATABASE_URL) return PostgresStore.open(env.DATABASE_URL, options.logger ? { logger: options.logger } : {});
  return LowdbStore.open(env.DATA_DIR, { readOnly: options.readOnly ?? false, archiveAfterMs: env.VMBOT_ARCHIVE_AFTER });
}

/** The audit log beside the store: PostgreSQL's audit table (open the store first: it migrates), else DATA_DIR/audit.jsonl. */
export async function openAudit(env: Pick<Env, 'DATABASE_URL' | 'DATA_DIR'>): Promise<AuditLog> {
  return env.DATABASE_URL ? PostgresAuditLog.open(env.DATABASE_URL) : FileAuditLog.open(env.DATA_DIR);
}
