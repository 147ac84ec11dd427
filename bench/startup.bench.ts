/**
 * Start-up as an operator sees it: `vmbot --help`, and `vmbot start` until `/readyz` answers 200
 * (stand-ins up), for the compiled build (`bin/vmbot.js` → dist/) and for the sources through tsx,
 * in the same run. `--help` is also compared with a bare `node -e 0`, the floor of any Node CLI.
 * Targets: the compiled build at most half of tsx's time for --help and no slower to ready; --help
 * within 2.5× bare Node (about 0.25 s here; the ceiling is 0.3 s).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { spawnBot, VMBOT_FROM_SOURCE, workspaceEnv } from '../src/demo/workspace.js';
import { median, spawnSim, spawnSlackSim, type Benchmark, type BenchResult } from './harness.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COMPILED = [join(ROOT, 'bin/vmbot.js')];
const ROUNDS = 7;

function timeRun(args: string[]): number {
  const started = performance.now();
  execFileSync(process.execPath, args, { stdio: 'ignore' });
  return performance.now() - started;
}

async function timeToReady(vmbot: readonly string[], env: Record<string, string>): Promise<number> {
  const started = performance.now();
  const bot = await spawnBot(env, vmbot);
  try {
    for (;;) {
      const res = await request(`${bot.url}/readyz`);
      await res.body.dump();
      if (res.statusCode === 200) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await new Promise<void>((resolve) => {
      bot.child.once('exit', () => resolve());
      bot.child.kill('SIGTERM');
    });
  }
}

export const startupBenchmark: Benchmark = {
  name: 'start-up: compiled vs tsx',
  async run(): Promise<BenchResult[]> {
    // The build measured is the one of these sources.
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
    const help = { compiled: [] as number[], tsx: [] as number[], node: [] as number[] };
    timeRun([...COMPILED, '--help']); // the first run pays for cold file caches
    timeRun([...VMBOT_FROM_SOURCE, '--help']);
    for (let i = 0; i < ROUNDS; i++) {
      help.node.push(timeRun(['-e', '0']));
      help.compiled.push(timeRun([...COMPILED, '--help']));
      help.tsx.push(timeRun([...VMBOT_FROM_SOURCE, '--help']));
    }

    const vergeos = await spawnSim();
    const slack = await spawnSlackSim(['--no-rate-limits']);
    const ready = { compiled: [] as number[], tsx: [] as number[] };
    try {
      for (let i = 0; i < 5; i++) {
        for (const [kind, args] of [
          ['compiled', COMPILED],
          ['tsx', VMBOT_FROM_SOURCE],
        ] as const) {
          const dataDir = await mkdtemp(join(tmpdir(), 'vmbot-bench-start-'));
          const env = { ...workspaceEnv({ slackApiUrl: slack.url, vergeosUrl: vergeos.url, dataDir }), PORT: '0', LOG_LEVEL: 'error' };
          ready[kind].push(await timeToReady(args, env));
          await rm(dataDir, { recursive: true, force: true });
        }
      }
    } finally {
      await slack.stop();
      await vergeos.stop();
    }
    const ms = (values: number[]) => `${median(values).toFixed(0)} ms`;
    return [
      {
        name: 'vmbot --help, compiled vs tsx (median of 7)',
        value: median(help.compiled),
        baseline: median(help.tsx),
        unit: 'ms',
        target: 0.5,
        note: `compiled ${ms(help.compiled)}, tsx ${ms(help.tsx)}`,
      },
      {
        name: 'vmbot --help compiled vs bare `node -e 0`',
        value: median(help.compiled),
        baseline: median(help.node),
        unit: 'ms',
        target: 2.5,
        note: `must stay ≤ 300 ms: ${ms(help.compiled)}`,
      },
      {
        name: 'vmbot start → /readyz 200, compiled vs tsx (median of 5)',
        value: median(ready.compiled),
        baseline: median(ready.tsx),
        unit: 'ms',
        target: 1.0,
        note: `compiled ${ms(ready.compiled)}, tsx ${ms(ready.tsx)}`,
      },
    ];
  },
};
