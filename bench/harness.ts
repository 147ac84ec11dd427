/** Shared pieces for benchmarks: a simulator in its own process, timing, and result lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { VMBOT_FROM_SOURCE } from '../src/demo/workspace.js';

export interface BenchResult {
  name: string;
  /** What was measured, in `unit`. */
  value: number;
  /** The same work done the baseline way, in the same run. */
  baseline: number;
  unit: string;
  /** value / baseline must stay at or under this (Infinity: reported only). */
  target: number;
  note?: string;
}

export interface Benchmark {
  name: string;
  run(): Promise<BenchResult[]>;
}

/** `vmbot sim` in a child process, so the simulator's CPU is not charged to the code measured. */
export function spawnSim(args: string[] = []): Promise<{ url: string; child: ChildProcess; stop: () => Promise<void> }> {
  return spawnVmbot(['sim', '--port', '0', ...args], /listening on (http:\/\/127\.0\.0\.1:\d+)/);
}

/** `vmbot slack-sim` in a child process; `url` is its SLACK_API_URL. */
export function spawnSlackSim(args: string[] = []): Promise<{ url: string; child: ChildProcess; stop: () => Promise<void> }> {
  return spawnVmbot(['slack-sim', '--port', '0', ...args], /SLACK_API_URL=(http:\/\/127\.0\.0\.1:\d+\/api\/)/);
}

async function spawnVmbot(args: string[], ready: RegExp): Promise<{ url: string; child: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [...VMBOT_FROM_SOURCE, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  // A benchmark that fails part-way must not leave simulators running.
  const kill = () => child.kill();
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`vmbot ${args[0]} exited (${code})`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Run `count` tasks with at most `width` in flight. */
export async function inParallel(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, lane));
}
