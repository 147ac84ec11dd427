/**
 * Whether a directory takes writes now, asked of the disk itself: readiness must not say "store
 * ok" on a full or read-only disk just because nothing has tried to write lately.
 */
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { AppendOnlyFile, unwritable, type FileSystem } from './durable-file.js';

/** Below this much free space the store counts as full: a run's next few records would not fit. */
export const MIN_FREE_BYTES = 256 << 10;
const PROBE_FILE = '.vmbot-write-probe';

/** A problem in words, or undefined when a small write lands and syncs. */
export async function probeWritable(dir: string, fs: FileSystem): Promise<string | undefined> {
  const path = join(dir, PROBE_FILE);
  try {
    const free = fs.freeBytes(dir);
    if (free < MIN_FREE_BYTES) return `can't write ${dir}: the disk is full (${free} bytes free)`;
    const probe = AppendOnlyFile.open(path, fs, 'w');
    try {
      probe.append('vmbot write probe\n');
      await probe.sync();
    } finally {
      await probe.close();
    }
    return undefined;
  } catch (err) {
    return unwritable(dir, err).message;
  } finally {
    try {
      unlinkSync(path);
    } catch {
      // never created
    }
  }
}
