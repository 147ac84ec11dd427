/**
 * A whole workspace on loopback: the VergeOS simulator and the Slack stand-in in this process,
 * the bot as its own process (`vmbot start`, unchanged, in HTTP mode), and a driver playing the
 * users. Used by `npm run demo` and the end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SIM_DEFAULT_API_KEY, startVergeosSim, type VergeosSim } from '../sim/index.js';
import { SlackDriver } from '../sim/slack-driver.js';
import { SLACK_SIM, SLACK_SIM_BOT_TOKEN, SLACK_SIM_SIGNING_SECRET, startSlackSim, type SlackSim } from '../sim/slack-sim.js';

/**
 * `node` arguments that run vmbot from its TypeScript sources (tsx), for the demo, tests and
 * benchmarks: they see the code as it is now, built or not. The `vmbot` bin runs dist/.
 */
export const VMBOT_FROM_SOURCE: readonly string[] = ['--import', 'tsx', fileURLToPath(new URL('../cli.ts', import.meta.url))];
const MANIFESTS = fileURLToPath(new URL('../../manifests/', import.meta.url));

export interface BotProcess {
  child: ChildProcess;
  url: string;
  /** What the bot wrote to stderr (its log), for diagnosing a failure. */
  log(): string;
}

export interface Workspace {
  vergeos: VergeosSim;
  slack: SlackSim;
  driver: SlackDriver;
  dataDir: string;
  env: Record<string, string>;
  bot: BotProcess;
  /** SIGKILL the bot (no chance to clean up), as a crash would. */
  killBot(): Promise<void>;
  /** Start the bot again on the same data directory. */
  startBot(): Promise<void>;
  close(): Promise<void>;
}

export interface WorkspaceOptions {
  importMs?: number;
  env?: Record<string, string>;
  /** Keep DATA_DIR when closing (default: removed). */
  keepData?: boolean;
  port?: number;
}

/**
 * How much faster than Slack the stand-in lets the bot write in demos and tests (it enforces
 * Slack's limits times this, and the bot paces itself to the same factor).
 */
export const STAND_IN_RATE_FACTOR = 20;

/** The bot's environment for a workspace of stand-ins (fast pacing and polling, quiet logs). */
export function workspaceEnv(where: { slackApiUrl: string; vergeosUrl: string; dataDir: string }): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: SLACK_SIM_BOT_TOKEN,
    SLACK_SIGNING_SECRET: SLACK_SIM_SIGNING_SECRET,
    SLACK_API_URL: where.slackApiUrl,
    VM_APPROVAL_CHANNEL: SLACK_SIM.approvalChannel,
    VM_AUDIT_CHANNEL: SLACK_SIM.auditChannel,
    VM_APPROVERS: SLACK_SIM.leadsGroup,
    VERGEOS_URL: where.vergeosUrl,
    VERGEOS_API_KEY: SIM_DEFAULT_API_KEY,
    // The simulator has no hourly limit; the budget is shown by the tests and `npm run bench`.
    VERGEOS_RATE_LIMIT: 'off',
    DATA_DIR: where.dataDir,
    MANIFESTS_DIR: MANIFESTS,
    VMBOT_POLL_INTERVAL: '50ms',
    SLACK_RATE_FACTOR: String(STAND_IN_RATE_FACTOR),
    LOG_LEVEL: 'warn',
  };
}

export async function startWorkspace(options: WorkspaceOptions = {}): Promise<Workspace> {
  const vergeos = await startVergeosSim({ timing: { importMs: options.importMs ?? 300, startMs: 100, stopMs: 100 } });
  const slack = await startSlackSim({ rateFactor: STAND_IN_RATE_FACTOR });
  const dataDir = await mkdtemp(join(tmpdir(), 'vmbot-workspace-'));
  const env: Record<string, string> = {
    ...workspaceEnv({ slackApiUrl: slack.apiUrl, vergeosUrl: vergeos.url, dataDir }),
    PORT: String(options.port ?? 0),
    ...options.env,
  };
  let bot = await spawnBot(env);
  const ws: Workspace = {
    vergeos,
    slack,
    dataDir,
    env,
    get bot() {
      return bot;
    },
    get driver() {
      return new SlackDriver(bot.url, slack);
    },
    async killBot() {
      const exited = new Promise((resolve) => bot.child.once('exit', resolve));
      bot.child.kill('SIGKILL');
      await exited;
    },
    async startBot() {
      bot = await spawnBot({ ...env, PORT: new URL(bot.url).port });
    },
    async close() {
      if (bot.child.exitCode === null && bot.child.signalCode === null) {
        const exited = new Promise((resolve) => bot.child.once('exit', resolve));
        bot.child.kill('SIGTERM');
        await exited;
      }
      await slack.close();
      await vergeos.close();
      if (!options.keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return ws;
}

/** `vmbot start` as a child process (from source, or `vmbot` as given: e.g. the compiled bin); resolves once it listens. */
export async function spawnBot(env: Record<string, string>, vmbot: readonly string[] = VMBOT_FROM_SOURCE): Promise<BotProcess> {
  const child = spawn(process.execPath, [...vmbot, 'start'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // If whoever started it dies first, the bot goes too (no stray processes after a failed run).
  const kill = () => child.kill();
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the bot did not start within 20 s:\n${stderr}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /vmbot listening on (http:\/\/127\.0\.0\.1:\d+)\/slack\/events/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the bot exited (${code}) before listening:\n${stderr}`));
    });
  });
  return { child, url, log: () => stderr };
}

/** Poll until `check` gives something truthy. */
export async function waitFor<T>(check: () => T | undefined | false | null, what: string, timeoutMs = 15_000, pollMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
