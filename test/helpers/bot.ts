/** The real Bolt app in HTTP mode on loopback, with the Slack stand-in and the VergeOS simulator. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/log.js';
import { createBot, openPolicy, type Bot } from '../../src/slack/bot.js';
import { SlackDriver } from '../../src/sim/slack-driver.js';
import { SLACK_SIM, SLACK_SIM_BOT_TOKEN, SLACK_SIM_SIGNING_SECRET, startSlackSim, type SlackSim } from '../../src/sim/slack-sim.js';
import { loadRecipes, recipeFilesIn, type Recipe } from '../../src/vmspec/recipes.js';
import { FileAuditLog } from '../../src/store/audit-file.js';
import { type Store } from '../../src/store/store.js';
import { LowdbStore } from '../../src/store/lowdb.js';
import type { FileSystem } from '../../src/store/durable-file.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { SIM_DEFAULT_API_KEY, startVergeosSim, type VergeosSim, type VergeosSimOptions } from '../../src/sim/index.js';
import { VergeosClient } from '../../src/vergeos/client.js';
import type { VergeosClientOptions } from '../../src/vergeos/transport.js';
import { MANIFESTS, tempDir } from './core.js';
import { STAND_IN_RATE_FACTOR } from '../../src/demo/workspace.js';

export interface Rig {
  bot: Bot;
  slack: SlackSim;
  vergeos: VergeosSim;
  driver: SlackDriver;
  store: Store;
  audit: FileAuditLog;
  dir: string;
  /** Where the `policy` option was written (POLICY_FILE), in the rig's directory. */
  policyFile: string;
  /** Stop the bot (as a crash would: no flush) and start a fresh one on the same data. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export const BOT_ENV = {
  SLACK_BOT_TOKEN: SLACK_SIM_BOT_TOKEN,
  SLACK_SIGNING_SECRET: SLACK_SIM_SIGNING_SECRET,
  VM_APPROVAL_CHANNEL: SLACK_SIM.approvalChannel,
  VM_AUDIT_CHANNEL: SLACK_SIM.auditChannel,
  VM_APPROVERS: `${SLACK_SIM.leadsGroup}`,
  VERGEOS_API_KEY: SIM_DEFAULT_API_KEY,
  VMBOT_POLL_INTERVAL: '20ms',
  LOG_LEVEL: 'silent',
};

export async function startRig(
  options: {
    vergeos?: VergeosSimOptions;
    env?: Record<string, string>;
    dir?: string;
    rateFactor?: number;
    importNoticeMs?: number;
    leaseNow?: () => number;
    /** The clock the polling of new VMs' addresses runs on (its timer is off: tests sweep by hand). */
    now?: () => number;
    /** How often the bot archives (to see it do so while running). */
    archiveEveryMs?: number;
    /** The form's pre-flight deadline (the bot's default is 2 s). */
    preflightMs?: number;
    /** Keep requests and runs in this PostgreSQL database instead of DATA_DIR. */
    databaseUrl?: string;
    /** The approval policy's YAML: written to `policyFile` before the bot starts, and named by POLICY_FILE. */
    policy?: string;
    /** Recipes offered besides manifests/ (a test's own, e.g. with secrets in its user-data). */
    extraRecipes?: Recipe[];
    /** The bot's logger (e.g. captureLogger's, to assert on its lines); default: LOG_LEVEL's. */
    logger?: Logger;
    /** The file layer under the store's and the audit log's appends (e.g. faultyFs, to fill the disk). */
    fs?: FileSystem;
    /** How often the bot looks for runs to take over (paused ones too); the bot's default is half the claim time. */
    takeOverMs?: number;
    /** Client settings over the rig's (e.g. a request budget on a test's clock). */
    client?: Partial<VergeosClientOptions>;
  } = {},
): Promise<Rig> {
  const vergeos = await startVergeosSim({ timing: { importMs: 60, startMs: 0, stopMs: 0 }, ...options.vergeos });
  const slack = await startSlackSim({ rateFactor: options.rateFactor ?? STAND_IN_RATE_FACTOR });
  const temp = options.dir ? { dir: options.dir, remove: async () => {} } : await tempDir();
  const { recipes: manifestRecipes } = await loadRecipes(await recipeFilesIn(MANIFESTS));
  const recipes = [...manifestRecipes, ...(options.extraRecipes ?? [])];
  const policyFile = join(temp.dir, 'policy.yml');
  if (options.policy !== undefined) await writeFile(policyFile, options.policy);
  let parts = await boot();

  async function boot() {
    const env = loadConfig(
      {
        ...BOT_ENV,
        SLACK_RATE_FACTOR: String(options.rateFactor ?? STAND_IN_RATE_FACTOR),
        SLACK_API_URL: slack.apiUrl,
        VERGEOS_URL: vergeos.url,
        DATA_DIR: join(temp.dir, 'data'),
        ...(options.policy !== undefined ? { POLICY_FILE: policyFile } : {}),
        ...options.env,
      },
      ['slack', 'vergeos'],
    );
    const logger = options.logger ?? createLogger({ level: env.LOG_LEVEL });
    const store: Store = options.databaseUrl
      ? await PostgresStore.open(options.databaseUrl)
      : await LowdbStore.open(env.DATA_DIR, { archiveAfterMs: env.VMBOT_ARCHIVE_AFTER, ...(options.fs ? { fs: options.fs } : {}) });
    const audit = await FileAuditLog.open(env.DATA_DIR, options.fs ? { fs: options.fs } : {});
    const client = new VergeosClient({
      url: vergeos.url,
      auth: { apiKey: SIM_DEFAULT_API_KEY },
      retry: { retries: 1, baseMs: 1, maxMs: 2 },
      timeouts: { headersMs: 1_000, bodyMs: 1_000 },
      ...options.client,
    });
    const policy = await openPolicy(env, logger);
    const bot = createBot(
      { env, logger, store, audit, vergeos: client },
      {
        recipes,
        policy,
        provisioner: { importPoll: { intervalMs: 20, timeoutMs: 5_000 }, stopTimeoutMs: 200, pollMs: 20 },
        policyPollMs: 50,
        slackRetries: 0,
        sweepIntervalMs: 60_000,
        addressSweepMs: 3_600_000,
        ...(options.now ? { now: options.now } : {}),
        ...(options.leaseNow ? { leaseOptions: { now: options.leaseNow } } : {}),
        ...(options.importNoticeMs ? { importNoticeMs: options.importNoticeMs } : {}),
        ...(options.archiveEveryMs ? { archiveEveryMs: options.archiveEveryMs } : {}),
        ...(options.preflightMs ? { preflightMs: options.preflightMs } : {}),
        ...(options.takeOverMs ? { takeOverMs: options.takeOverMs } : {}),
      },
    );
    const { port } = await bot.start(0);
    return { bot, store, audit, client, driver: new SlackDriver(`http://127.0.0.1:${port}`, slack) };
  }

  const rig: Rig = {
    get bot() {
      return parts.bot;
    },
    get store() {
      return parts.store;
    },
    get audit() {
      return parts.audit;
    },
    get driver() {
      return parts.driver;
    },
    slack,
    vergeos,
    dir: temp.dir,
    policyFile,
    async restart() {
      await parts.bot.stop();
      await parts.audit.close();
      await parts.store.close();
      await parts.client.close();
      parts = await boot();
    },
    async close() {
      await parts.bot.idle();
      await parts.bot.stop();
      // Every Slack test doubles as a pacing test: the stand-in enforces Slack's limits.
      const limited = slack.rateLimited();
      await parts.audit.close();
      await parts.store.close();
      await parts.client.close();
      await slack.close();
      await vergeos.close();
      await temp.remove();
      if (limited.length) throw new Error(`the stand-in answered 429 to the bot ${limited.length} time(s): ${limited.map((c) => c.method).join(', ')}`);
    },
  };
  return rig;
}

/** Poll until the check gives something truthy (the workspace's own helper). */
export { waitFor as until } from '../../src/demo/workspace.js';

/** All text of a message, blocks included, for assertions. */
export function textOf(message: { text: string; blocks: unknown[] }): string {
  return `${message.text}\n${JSON.stringify(message.blocks)}`;
}
