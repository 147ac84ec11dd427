/**
 * The embedded store's writer lock: one writer per DATA_DIR. Each starter writes a file of its own,
 * `vmbot.lock.<pid>-<random>` (complete before it appears: written aside, then renamed), and then
 * lists every other lock file. If none belongs to a live process, it holds the lock, and says so
 * with a marker beside its file (`….held`). If a holder's file is there, it gives up; if only
 * other starters' are, it takes its own away and tries again a little later. Two can't both hold
 * it: whoever lists second sees the first's file, which was there before the first listed and
 * stays while its process lives (a listing may miss only files added or removed meanwhile, so the
 * lock file is never renamed once in place). Files of dead processes are removed by the next
 * holder. (An older version's `vmbot.lock` counts like any other.)
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StoreError } from './store.js';

const LOCK_FILE = /^vmbot\.lock(\.\d+-[0-9a-f]+)?$/;
const HELD = '.held';
/** Tries before giving up: starters that met each other back off for a random while and look again. */
const ATTEMPTS = 12;

interface Owner {
  pid: number;
  host: string;
}

/** Takes the writer lock of `dataDir`; the path to release. */
export function takeLock(dataDir: string): string {
  const id = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const mine = join(dataDir, `vmbot.lock.${id}`);
  const content = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() });
  let holder: { name: string; owner: Owner | undefined } | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const temp = `${mine}.tmp`;
    writeFileSync(temp, content, { mode: 0o600 });
    renameSync(temp, mine);
    holder = liveOther(dataDir, mine);
    if (!holder) {
      writeFileSync(`${mine}${HELD}`, '', { mode: 0o600 }); // later starters give up at once rather than retry
      removeDead(dataDir, mine);
      return mine;
    }
    unlinkSync(mine);
    // An older version's lock, or a holder's: give up. Another starter's: try again shortly.
    if (holder.name === 'vmbot.lock' || existsSync(join(dataDir, `${holder.name}${HELD}`))) break;
    sleep(1 + Math.floor(Math.random() * 8 * (attempt + 1)));
  }
  const owner = holder?.owner;
  if (owner && owner.host !== hostname())
    throw new StoreError('STORE_LOCKED', `${dataDir} is held by vmbot on host ${owner.host}; one writer per data directory`);
  throw new StoreError('STORE_LOCKED', `another vmbot${owner ? ` (pid ${owner.pid})` : ''} is using ${dataDir}; stop it first or use a different DATA_DIR`);
}

/** Another lock file whose process lives (or may: on another host), if any. */
function liveOther(dataDir: string, mine: string): { name: string; owner: Owner | undefined } | undefined {
  for (const name of readdirSync(dataDir)) {
    if (!LOCK_FILE.test(name) || join(dataDir, name) === mine) continue;
    const owner = readOwner(join(dataDir, name));
    if (owner === 'gone' || owner === 'unreadable-old') continue;
    if (owner && isStale(owner)) continue;
    // Unreadable and new: an older version's lock may be mid-write; count it as live.
    return { name, owner };
  }
  return undefined;
}

function removeDead(dataDir: string, mine: string): void {
  const remove = (path: string) => {
    try {
      unlinkSync(path);
    } catch {
      // removed meanwhile
    }
  };
  for (const name of readdirSync(dataDir)) {
    const path = join(dataDir, name);
    if (path === mine || !name.startsWith('vmbot.lock')) continue;
    const owner = LOCK_FILE.test(name) ? readOwner(path) : undefined;
    if (owner === 'unreadable-old' || (owner && owner !== 'gone' && isStale(owner))) remove(path);
    // A starter's file half-made by a process now gone.
    else if (name.endsWith('.tmp') && !isAlive(Number(/^vmbot\.lock\.(\d+)-/.exec(name)?.[1])) && path !== `${mine}.tmp`) remove(path);
  }
  // A holder's marker outlives nothing: once its lock file is gone, so is it.
  for (const name of readdirSync(dataDir)) {
    const path = join(dataDir, name);
    if (name.startsWith('vmbot.lock.') && name.endsWith(HELD) && path !== `${mine}${HELD}` && !existsSync(path.slice(0, -HELD.length))) remove(path);
  }
}

/** A lock file nobody could still be writing: its contents can't name an owner, so it is stale. */
const UNREADABLE_STALE_MS = 10_000;

/** Who holds a lock file; `undefined` when it can't be read yet, `unreadable-old` when it never will. */
function readOwner(path: string): Owner | 'gone' | 'unreadable-old' | undefined {
  let text: string;
  let modified: number;
  try {
    text = readFileSync(path, 'utf8');
    modified = statSync(path).mtimeMs;
  } catch (err) {
    // Gone only if it is gone: a file we can't read (EACCES, EMFILE) may well be a live holder's.
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : undefined;
  }
  try {
    const parsed = JSON.parse(text) as { pid?: unknown; host?: unknown };
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') return { pid: parsed.pid, host: parsed.host };
  } catch {
    // not JSON (yet)
  }
  return Date.now() - modified > UNREADABLE_STALE_MS ? 'unreadable-old' : undefined;
}

/** This host's, and its process is gone (or is this process: an earlier life with the same pid, as in a container). */
function isStale(owner: Owner): boolean {
  return owner.host === hostname() && (owner.pid === process.pid || !isAlive(owner.pid));
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A short synchronous pause (start-up only): starters that met back off for different times. */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function releaseLock(path: string): void {
  for (const file of [`${path}${HELD}`, path]) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
}
