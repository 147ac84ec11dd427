/** Audit append cost must not grow with the log: 1,000 appends onto 1k vs 100k existing records. Target ≤ 1.5. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAuditLog } from '../src/store/audit-file.js';
import { median, timed, type Benchmark } from './harness.js';

const APPENDS = 1_000;

async function logWith(records: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vmbot-audit-bench-'));
  const log = await FileAuditLog.open(dir);
  for (let i = 0; i < records; i++)
    await log.append({ actor: 'U0BENCH', action: 'run.step_done', runId: `run-${i}`, keys: { vm: String(i) }, outcome: 'ok', detail: 'seed' });
  await log.close();
  return dir;
}

async function appendCost(dir: string): Promise<number> {
  const log = await FileAuditLog.open(dir);
  try {
    return await timed(async () => {
      for (let i = 0; i < APPENDS; i++) await log.append({ actor: 'U0BENCH', action: 'run.step_done', runId: 'run-x', keys: { vm: '1' }, outcome: 'ok' });
    });
  } finally {
    await log.close();
  }
}

export const auditBenchmark: Benchmark = {
  name: 'audit append cost vs log length',
  async run() {
    const small = await logWith(1_000);
    const large = await logWith(100_000);
    try {
      const smallTimes: number[] = [];
      const largeTimes: number[] = [];
      for (let round = 0; round < 5; round++) {
        smallTimes.push(await appendCost(small));
        largeTimes.push(await appendCost(large));
      }
      return [
        {
          name: `${APPENDS} appends onto 100k records vs onto 1k`,
          value: median(largeTimes),
          baseline: median(smallTimes),
          unit: 'ms',
          target: 1.5,
          note: 'median of 5 rounds',
        },
      ];
    } finally {
      await rm(small, { recursive: true, force: true });
      await rm(large, { recursive: true, force: true });
    }
  },
};
