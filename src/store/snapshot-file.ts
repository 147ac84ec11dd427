/**
 * `vmbot.json`, the embedded store's snapshot, as a lowdb adapter. Written only by compaction, off
 * the hot path: a quarter megabyte at a time with the event loop free in between, into a
 * temporary file created 0600 (whatever the umask) that is synced and then renamed over the old
 * one. The file ends with a SHA-256 digest of the rest, so
 * a file this bot wrote is read back without validating every record again; one without it (an
 * older version's, or hand-edited) is validated in full by the store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Adapter } from 'lowdb';
import { RECORD_TABLES } from './journal.js';
import type { StoreFile } from './records.js';
import { syncDirectory } from './durable-file.js';

const CHUNK_CHARS = 256 << 10;
const DIGEST_TAIL = /,"digest":"([0-9a-f]{64})"\}\s*$/;

export class SnapshotFile implements Adapter<StoreFile> {
  /** Whether the last read carried a digest that matched (so the store need not validate it). */
  trusted = false;
  /** Size of the file last read or written, in bytes (compaction is sized against it). */
  bytes = 0;

  constructor(readonly path: string) {}

  async read(): Promise<StoreFile | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    this.bytes = Buffer.byteLength(text);
    const tail = DIGEST_TAIL.exec(text.slice(-120));
    const bodyEnd = tail ? text.length - (text.slice(-120).length - tail.index) : -1;
    this.trusted = tail !== null && createHash('sha256').update(text.slice(0, bodyEnd)).digest('hex') === tail[1];
    const data = JSON.parse(text) as StoreFile & { digest?: string };
    delete data.digest;
    return data;
  }

  async write(data: StoreFile): Promise<void> {
    const temp = `${this.path}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(temp, 'w', 0o600);
    const hash = createHash('sha256');
    let bytes = 0;
    let chunk = '';
    const emit = async (force = false) => {
      if (!force && chunk.length < CHUNK_CHARS) return;
      hash.update(chunk);
      const buffer = Buffer.from(chunk);
      bytes += buffer.length;
      chunk = '';
      await handle.write(buffer); // the event loop is free meanwhile
    };
    try {
      chunk = `{"version":1,"journal":${data.journal},"counters":${JSON.stringify(data.counters)}`;
      for (const table of RECORD_TABLES) {
        chunk += `,"${table}":[`;
        let first = true;
        for (const record of data[table]) {
          const line = JSON.stringify(record);
          chunk += first ? line : `,${line}`;
          first = false;
          await emit();
        }
        chunk += ']';
      }
      await emit(true);
      chunk = `,"digest":"${hash.digest('hex')}"}\n`;
      bytes += Buffer.byteLength(chunk);
      await handle.write(chunk);
      await handle.sync(); // the journal it replaces is deleted next: this must be on disk first
      await handle.close();
      await rename(temp, this.path);
      syncDirectory(dirname(this.path)); // the rename itself on disk before journals are deleted
      this.bytes = bytes;
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw err;
    }
  }
}
