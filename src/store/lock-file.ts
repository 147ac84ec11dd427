/** The embedded store's writer lock: `vmbot.lock`, holding the owner's pid and host. */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { StoreError } from './store.js';

/** One writer per file: a lock file holding the owner's pid, taken over only if that process is gone. */
export function takeLock(path: string): string {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
      closeSync(fd);
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readLockOwner(path);
      if (owner && owner.host === hostname() && isAlive(owner.pid) && owner.pid !== process.pid) {
        throw new StoreError(
          'STORE_LOCKED',
          `another vmbot (pid ${owner.pid}) is using ${path.replace(/vmbot\.lock$/, '')}; stop it first or use a different DATA_DIR`,
        );
      }
      if (owner && owner.host !== hostname()) {
        throw new StoreError('STORE_LOCKED', `${path} is held by vmbot on host ${owner.host}; one writer per data directory`);
      }
      unlinkSync(path); // stale: its process is gone
    }
  }
  throw new StoreError('STORE_LOCKED', `could not take ${path}`);
}

function readLockOwner(path: string): { pid: number; host: string } | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown; host?: unknown };
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? { pid: parsed.pid, host: parsed.host } : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function releaseLock(path: string): void {
  try {
    if (readLockOwner(path)?.pid === process.pid) unlinkSync(path);
  } catch {
    // already gone
  }
}
