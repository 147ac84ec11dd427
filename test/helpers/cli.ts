import { spawn, type ChildProcess } from 'node:child_process';
import { VMBOT_FROM_SOURCE } from '../../src/demo/workspace.js';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `vmbot …` as a real child process with only the given environment (plus PATH). */
export function startVmbot(
  args: string[],
  env: Record<string, string>,
  as: { uid?: number; gid?: number } = {},
): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(process.execPath, [...VMBOT_FROM_SOURCE, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...as,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliRun>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

/** With `as`, run as that user (a test running as root reads a DATA_DIR as someone who can't write it). */
export function runVmbot(args: string[], env: Record<string, string>, as: { uid?: number; gid?: number } = {}): Promise<CliRun> {
  return startVmbot(args, env, as).done;
}

export { waitFor } from '../../src/demo/workspace.js';
