/**
 * A `FileSystem` over the real one that can fill up — the next write lands half its bytes (a
 * short write, as a full disk does) and the one after fails ENOSPC — and that remembers which
 * appended bytes a completed fdatasync covered, so a test can ask "was this line on disk
 * before that POST?".
 */
import { nodeFileSystem, type FileSystem } from '../../src/store/durable-file.js';

export interface FaultyFs extends FileSystem {
  /** From now on the disk is full. */
  fill(): void;
  /** Space again. */
  free(): void;
  /** Text appended to files whose path matches, that a completed fdatasync has covered. */
  synced(pathPart: string): string;
  /** Every fdatasync that completed, in order. */
  syncs: number;
}

export function faultyFs(): FaultyFs {
  let full = false;
  let shortDone = false;
  const paths = new Map<number, string>();
  /** Per descriptor: the file's size when opened, bytes this layer wrote since, and how many of them a completed sync covered. */
  const files = new Map<number, { base: number; bytes: Buffer; synced: number }>();
  const syncedText = new Map<string, Buffer[]>();
  const fs: FaultyFs = {
    ...nodeFileSystem,
    syncs: 0,
    openSync(path, flags, mode) {
      if (full && flags !== 'r') throw Object.assign(new Error(`ENOSPC: no space left on device, open '${path}'`), { code: 'ENOSPC' });
      const fd = nodeFileSystem.openSync(path, flags, mode);
      paths.set(fd, path);
      files.set(fd, { base: nodeFileSystem.fstatSync(fd).size, bytes: Buffer.alloc(0), synced: 0 });
      return fd;
    },
    writeSync(fd, buffer, offset, length) {
      if (full) {
        if (shortDone || length < 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        shortDone = true;
        length = Math.floor(length / 2);
      }
      const n = nodeFileSystem.writeSync(fd, buffer, offset, length);
      const file = files.get(fd);
      if (file) file.bytes = Buffer.concat([file.bytes, buffer.subarray(offset, offset + n)]);
      return n;
    },
    ftruncateSync(fd, length) {
      nodeFileSystem.ftruncateSync(fd, length);
      const file = files.get(fd);
      if (file) file.bytes = file.bytes.subarray(0, Math.max(0, length - file.base));
    },
    async fdatasync(fd) {
      const file = files.get(fd);
      const upTo = file?.bytes.length ?? 0;
      await nodeFileSystem.fdatasync(fd);
      fs.syncs++;
      if (file && upTo > file.synced) {
        const path = paths.get(fd)!;
        syncedText.set(path, [...(syncedText.get(path) ?? []), file.bytes.subarray(file.synced, upTo)]);
        file.synced = upTo;
      }
    },
    freeBytes(path) {
      return full ? 0 : nodeFileSystem.freeBytes(path);
    },
    fill() {
      full = true;
      shortDone = false;
    },
    free() {
      full = false;
    },
    synced(pathPart) {
      return [...syncedText]
        .filter(([path]) => path.includes(pathPart))
        .map(([, parts]) => Buffer.concat(parts).toString('utf8'))
        .join('');
    },
  };
  return fs;
}
