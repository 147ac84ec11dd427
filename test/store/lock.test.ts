/**
 * The writer lock under a race: eight processes start at once on a DATA_DIR whose lock was left by
 * a dead process; exactly one holds it, every other is told who does — fifty rounds.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LowdbStore } from '../../src/store/lowdb.js';
import { tempDir } from '../helpers/core.js';

const STARTERS = 8;
const ROUNDS = 50;
const WORKER = fileURLToPath(new URL('../helpers/lock-worker.ts', import.meta.url));

type Answer = { ready?: boolean; held?: boolean; released?: boolean; code?: string; message?: string };

/** A worker and its next answer. */
function starter(): { child: ChildProcess; next: () => Promise<Answer> } {
  const child = fork(WORKER, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const queue: Answer[] = [];
  const waiting: Array<(a: Answer) => void> = [];
  child.on('message', (m: Answer) => (waiting.length ? waiting.shift()!(m) : queue.push(m)));
  return { child, next: () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiting.push(resolve))) };
}

describe('the writer lock', () => {
  const starters: Array<ReturnType<typeof starter>> = [];
  beforeAll(async () => {
    for (let i = 0; i < STARTERS; i++) starters.push(starter());
    await Promise.all(starters.map(async (s) => expect(await s.next()).toEqual({ ready: true })));
  });
  afterAll(() => {
    for (const s of starters) s.child.kill();
  });

  it(`${STARTERS} starters racing on a stale lock: exactly one holds it, ${ROUNDS} rounds`, async () => {
    const { dir, remove } = await tempDir();
    try {
      const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
      const refusals = new Set<string>();
      for (let round = 0; round < ROUNDS; round++) {
        // What a killed bot leaves: an older version's lock, or this version's held lock, of a process now gone.
        const stale = round % 2 ? 'vmbot.lock' : `vmbot.lock.${dead}-0123456789ab`;
        await writeFile(join(dir, stale), JSON.stringify({ pid: dead, host: hostname(), since: new Date().toISOString() }));
        for (const s of starters) s.child.send({ dir });
        const answers = await Promise.all(starters.map((s) => s.next()));
        const holders = answers.filter((a) => a.held);
        expect(holders, `round ${round}: ${JSON.stringify(answers)}`).toHaveLength(1);
        for (const a of answers.filter((x) => !x.held)) {
          expect(a.code).toBe('STORE_LOCKED');
          refusals.add(a.message!.replace(/pid \d+/, 'pid N'));
        }
        // The stale lock is gone; only the holder's remains.
        const locks = (await readdir(dir)).filter((f) => f.startsWith('vmbot.lock'));
        expect(locks.sort(), `round ${round}`).toEqual([
          expect.stringMatching(/^vmbot\.lock\.\d+-[0-9a-f]{12}$/),
          expect.stringMatching(/^vmbot\.lock\.\d+-[0-9a-f]{12}\.held$/),
        ]);
        const holder = starters[answers.indexOf(holders[0]!)]!;
        holder.child.send({ release: true });
        expect(await holder.next()).toEqual({ released: true });
        expect((await readdir(dir)).filter((f) => f.startsWith('vmbot.lock'))).toEqual([]);
      }
      expect([...refusals]).toEqual([`another vmbot (pid N) is using ${dir}; stop it first or use a different DATA_DIR`]);
    } finally {
      await remove();
    }
  }, 120_000);

  it('a start-up that fails after taking the lock lets it go', async () => {
    const { dir, remove } = await tempDir();
    try {
      await writeFile(join(dir, 'vmbot.json'), '{ not json');
      await expect(LowdbStore.open(dir)).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
      expect((await readdir(dir)).filter((f) => f.startsWith('vmbot.lock'))).toEqual([]);
    } finally {
      await remove();
    }
  });
});
