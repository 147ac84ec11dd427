/**
 * A last line an interrupted append left in one of the bot's own files (journal, audit log,
 * archive): cut off at start-up so the next append can't run into it, and kept beside the file
 * rather than thrown away (someone may want to look), with a note saying what was done.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { syncDirectory } from './durable-file.js';

/** `20261205T113654Z`: a file-name-safe time stamp. */
export function fileStamp(at = new Date()): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
}

/**
 * Moves bytes `from`…end of `path` into `path.<label>-<stamp>` (synced), then cuts `path` there
 * (synced). Returns the side file's name.
 */
export function setAsideTail(path: string, from: number, label: string): string {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.max(0, size - from));
    readSync(fd, tail, 0, tail.length, from);
    const side = `${path}.${label}-${fileStamp()}`;
    const sideFd = openSync(side, 'a', 0o600);
    try {
      writeAll(sideFd, tail);
      fsyncSync(sideFd);
    } finally {
      closeSync(sideFd);
    }
    syncDirectory(dirname(path));
    ftruncateSync(fd, from);
    fsyncSync(fd);
    return basename(side);
  } finally {
    closeSync(fd);
  }
}

/** The note for a torn last line cut off at start-up. */
export function tornTailNote(path: string, line: number, bytes: number, side: string): string {
  return `${basename(path)}:${line}: cut off a torn last line (${bytes} bytes: an interrupted write, never acknowledged); kept in ${side}`;
}

/** Writes every byte (a write may stop short). */
export function writeAll(fd: number, buffer: Buffer): void {
  let written = 0;
  while (written < buffer.length) {
    const n = writeSync(fd, buffer, written, buffer.length - written);
    if (n <= 0) throw Object.assign(new Error('the write stopped short'), { code: 'ENOSPC' });
    written += n;
  }
}
