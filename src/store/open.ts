/** The store and audit log the environment asks for: PostgreSQL with DATABASE_URL, else files in DATA_DIR. */
import type { Env } from '../config.js';
import type { Logger } from '../log.js';
import { LowdbStore } from './lowdb.js';
import { PostgresStore } from './postgres/store.js';
import type { Store } from './store.js';
import type { AuditLog } from './audit.js';
import { FileAuditLog } from './audit-file.js';
import type { FileSystem } from './durable-file.js';
import { PostgresAuditLog } from './postgres/audit.js';

export interface OpenOptions {
  readOnly?: boolean;
  logger?: Logger;
  /** Told what opening mended (a torn last line cut off); without it, the logger is. */
  onNote?: (note: string) => void;
  fs?: FileSystem;
}

export async function openStore(env: Pick<Env, 'DATABASE_URL' | 'DATA_DIR' | 'VMBOT_ARCHIVE_AFTER'>, options: OpenOptions = {}): Promise<Store> {
  if (env.DATABASE_URL) return PostgresStore.open(env.DATABASE_URL, options.logger ? { logger: options.logger } : {});
  const store = await LowdbStore.open(env.DATA_DIR, {
    readOnly: options.readOnly ?? false,
    archiveAfterMs: env.VMBOT_ARCHIVE_AFTER,
    ...(options.fs ? { fs: options.fs } : {}),
  });
  tell(store.notes, options);
  return store;
}

/** The audit log beside the store: PostgreSQL's audit table (open the store first: it migrates), else DATA_DIR/audit.jsonl. */
export async function openAudit(env: Pick<Env, 'DATABASE_URL' | 'DATA_DIR'>, options: OpenOptions = {}): Promise<AuditLog> {
  if (env.DATABASE_URL) return PostgresAuditLog.open(env.DATABASE_URL);
  const audit = await FileAuditLog.open(env.DATA_DIR, { readOnly: options.readOnly ?? false, ...(options.fs ? { fs: options.fs } : {}) });
  tell(audit.notes, options);
  return audit;
}

function tell(notes: readonly string[], options: OpenOptions): void {
  for (const note of notes) {
    if (options.onNote) options.onNote(note);
    else options.logger?.warn({ note }, 'the store was mended at open');
  }
}
