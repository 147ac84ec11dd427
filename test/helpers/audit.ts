/** The audit records a test's DATA_DIR holds, in order (read from the file, as an auditor would). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditRecord } from '../../src/store/audit.js';

export async function readAudit(dir: string): Promise<AuditRecord[]> {
  const text = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trim();
  return text ? text.split('\n').map((line) => JSON.parse(line) as AuditRecord) : [];
}
