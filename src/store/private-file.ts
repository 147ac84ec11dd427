/**
 * A lowdb adapter for a JSON file only its owner may read: each write goes to a temporary file
 * created with mode 0600, then replaces the file by rename, so the store is never readable by
 * others — not even for a moment, whatever the process's umask (lowdb's own adapter creates its
 * temporary file with the umask's mode, and the rename keeps it).
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Adapter } from 'lowdb';

export class PrivateJsonFile<T> implements Adapter<T> {
  constructor(readonly path: string) {}

  async read(): Promise<T | null> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async write(data: T): Promise<void> {
    const temp = `${this.path}.${randomBytes(4).toString('hex')}.tmp`;
    // Compact JSON: the file is rewritten on every change, so size is time.
    await writeFile(temp, JSON.stringify(data), { mode: 0o600 });
    await rename(temp, this.path);
  }
}
