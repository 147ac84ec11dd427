/**
 * Appending to the store's own files (journal, audit log, archive) so that a write either lands
 * whole or not at all, and is on disk before the network call it guards. A short or failed write
 * is cut back off (no torn line stays behind to break the next start); `sync` is one `fdatasync`
 * shared by every writer waiting at that moment (a group commit). The file calls go through a
 * `FileSystem`, so tests can fill the disk, shorten writes and watch the syncs.
 */
import * as nodeFs from 'node:fs';
import { dirname } from 'node:path';
import { StoreError } from './store.js';

/** The calls the store's appends make; `nodeFileSystem` is the real one. */
export interface FileSystem {
  openSync(path: string, flags: string, mode?: number): number;
  /** Bytes written, perhaps fewer than asked (a full disk writes what fits, then fails). */
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fdatasync(fd: number): Promise<void>;
  fsyncSync(fd: number): void;
  ftruncateSync(fd: number, length: number): void;
  fstatSync(fd: number): { size: number };
  closeSync(fd: number): void;
  /** Free bytes for this user on the file system holding `path`. */
  freeBytes(path: string): number;
}

export const nodeFileSystem: FileSystem = {
  openSync: (path, flags, mode) => nodeFs.openSync(path, flags, mode),
  writeSync: (fd, buffer, offset, length) => nodeFs.writeSync(fd, buffer, offset, length),
  fdatasync: (fd) => new Promise((resolve, reject) => nodeFs.fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
  fsyncSync: (fd) => nodeFs.fsyncSync(fd),
  ftruncateSync: (fd, length) => nodeFs.ftruncateSync(fd, length),
  fstatSync: (fd) => nodeFs.fstatSync(fd),
  closeSync: (fd) => nodeFs.closeSync(fd),
  freeBytes: (path) => {
    const stats = nodeFs.statfsSync(path);
    return stats.bavail * stats.bsize;
  },
};

/** Errors that mean "this storage takes no writes now" (as opposed to a bug). */
const UNWRITABLE: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EIO: 'the disk reported an I/O error',
  EFBIG: 'the file is as large as the file system allows',
  EACCES: 'permission was denied',
  EPERM: 'permission was denied',
};

/** Whether an error from a file call means the storage can't take writes now. */
export function isUnwritable(err: unknown): boolean {
  return err instanceof StoreError
    ? err.code === 'STORE_UNWRITABLE'
    : typeof (err as NodeJS.ErrnoException)?.code === 'string' && (err as NodeJS.ErrnoException).code! in UNWRITABLE;
}

/** A file call's failure as the store's error, in plain words (`STORE_UNWRITABLE` when the storage is the cause). */
export function unwritable(path: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const why = code ? UNWRITABLE[code] : undefined;
  return new StoreError(
    why ? 'STORE_UNWRITABLE' : 'STORE_UNAVAILABLE',
    `can't write ${path}: ${why ?? (err as Error)?.message ?? String(err)}${code && why ? ` (${code})` : ''}`,
  );
}

function shortWrite(): NodeJS.ErrnoException {
  return Object.assign(new Error('the write stopped short'), { code: 'ENOSPC' });
}

export class AppendOnlyFile {
  #size: number;
  #synced: number;
  /** The sync now running, settled either way (the next one starts after it). */
  #running: Promise<void> = Promise.resolve();
  /** A sync not started yet: everything appended before it starts is covered by it. */
  #next: Promise<void> | undefined;
  /** A failed fsync: the kernel may have dropped the data, so nothing written since can be trusted. */
  #broken: StoreError | undefined;
  #closed = false;

  private constructor(
    readonly path: string,
    readonly fd: number,
    private readonly fs: FileSystem,
  ) {
    this.#size = fs.fstatSync(fd).size;
    this.#synced = this.#size;
  }

  /** Opens (creating 0600 if need be, and then syncing its directory so the new name survives a power cut). */
  static open(path: string, fs: FileSystem = nodeFileSystem, flags = 'a+'): AppendOnlyFile {
    const existed = nodeFs.existsSync(path);
    let fd: number;
    try {
      fd = fs.openSync(path, flags, 0o600);
    } catch (err) {
      throw unwritable(path, err);
    }
    if (!existed) syncDirectory(dirname(path), fs);
    return new AppendOnlyFile(path, fd, fs);
  }

  get size(): number {
    return this.#size;
  }

  /** Appends all of `text`, or nothing: a failed or short write is cut back off and reported. */
  append(text: string): void {
    if (this.#broken) throw this.#broken;
    if (this.#closed) throw new StoreError('STORE_UNAVAILABLE', `${this.path} is closed`);
    const buffer = Buffer.from(text);
    let written = 0;
    try {
      while (written < buffer.length) {
        const n = this.fs.writeSync(this.fd, buffer, written, buffer.length - written);
        if (n <= 0) throw shortWrite();
        written += n;
      }
    } catch (err) {
      if (written > 0 || !isUnwritable(err)) this.#cutBack();
      throw unwritable(this.path, err);
    }
    this.#size += buffer.length;
  }

  /** Removes a partial append; if even that fails the file can't be trusted until a restart reads it again. */
  #cutBack(): void {
    try {
      this.fs.ftruncateSync(this.fd, this.#size);
    } catch (err) {
      this.#broken = unwritable(this.path, err);
    }
  }

  /** Resolves once everything appended so far is on disk; one fdatasync serves every caller waiting. */
  sync(): Promise<void> {
    if (this.#broken) return Promise.reject(this.#broken);
    if (this.#synced >= this.#size) return this.#running;
    this.#next ??= this.#running.then(() => {
      this.#next = undefined;
      const upTo = this.#size;
      const run = this.fs.fdatasync(this.fd).then(
        () => {
          this.#synced = Math.max(this.#synced, upTo);
        },
        (err: unknown) => {
          this.#broken ??= unwritable(this.path, err);
          throw this.#broken;
        },
      );
      this.#running = run.catch(() => undefined);
      return run;
    });
    return this.#next;
  }

  /** Whether a failed sync made this file untrustworthy (the process must restart to read it again). */
  get broken(): StoreError | undefined {
    return this.#broken;
  }

  /** Closes once the syncs waiting are done (so none runs on a closed descriptor). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.sync().catch(() => undefined);
    this.fs.closeSync(this.fd);
  }
}

/** A directory's entries (a new or renamed file) on disk; file systems that can't sync one are left as they are. */
export function syncDirectory(dir: string, fs: FileSystem = nodeFileSystem): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // not every file system syncs a directory (the rename or create is atomic all the same)
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
