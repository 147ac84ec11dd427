/**
 * An idle bot's VergeOS calls over one hour: 300 VMs made by the bot (a day old, so no address
 * watch is open), the real bot (createBot: its scheduled sweeps, readiness, take-over, archive) on
 * a clock compressed 120× (an hour in 30 s), every interval compressed alike. The simulator logs
 * each call; those of a steady hour after 10 compressed minutes of start-up are counted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provisionBatch } from '../src/batches/batch.js';
import { loadConfig, vergeosClientOptions } from '../src/config.js';
import { STAND_IN_RATE_FACTOR, workspaceEnv } from '../src/demo/workspace.js';
import { createLogger } from '../src/log.js';
import { PolicyHolder } from '../src/policy/watch.js';
import { Provisioner } from '../src/provision/provisioner.js';
import { SIM_DEFAULT_API_KEY, startVergeosSim } from '../src/sim/index.js';
import { startSlackSim } from '../src/sim/slack-sim.js';
import { createBot } from '../src/slack/bot.js';
import { FileAuditLog } from '../src/store/audit-file.js';
import { LowdbStore } from '../src/store/lowdb.js';
import { VergeosClient } from '../src/vergeos/client.js';
import { parseSpec } from '../src/vmspec/validate.js';

const VMS = 300;
const FACTOR = 120;
const MINUTE = 60_000;
const compressed = (ms: number) => Math.max(1, Math.round(ms / FACTOR));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function idleBotCallsPerHour(): Promise<{ calls: number; note: string }> {
  const vergeos = await startVergeosSim({ timing: { importMs: 0, startMs: 0, stopMs: 0 } });
  const slack = await startSlackSim({ rateFactor: STAND_IN_RATE_FACTOR });
  const dir = await mkdtemp(join(tmpdir(), 'vmbot-bench-idle-'));
  const dataDir = join(dir, 'data');
  try {
    // 300 VMs the bot made, provisioned before it starts (no budget: this is set-up, not measured).
    {
      const store = await LowdbStore.open(dataDir);
      const audit = await FileAuditLog.open(dataDir);
      const client = new VergeosClient({ url: vergeos.url, auth: { apiKey: SIM_DEFAULT_API_KEY }, maxInFlight: 16 });
      const specs = Array.from({ length: VMS }, (_, i) => {
        const parsed = parseSpec({ vm: { name: `idle-${String(i + 1).padStart(3, '0')}`, cpu_cores: 1, ram: '1GiB' }, power_on: false });
        if (!parsed.ok) throw new Error('bench spec invalid');
        return parsed.value;
      });
      const outcome = await provisionBatch(new Provisioner({ vergeos: client, store, audit }), specs, { actor: 'bench', concurrency: 16 });
      if (outcome.failed) throw new Error(`${outcome.failed} of the idle bench's VMs failed`);
      await client.close();
      await audit.close();
      await store.close();
    }
    const env = loadConfig(
      { ...workspaceEnv({ slackApiUrl: slack.apiUrl, vergeosUrl: vergeos.url, dataDir }), VERGEOS_RATE_LIMIT: '1000/h', LOG_LEVEL: 'silent' },
      ['slack', 'vergeos'],
    );
    const logger = createLogger({ level: 'silent' });
    const store = await LowdbStore.open(dataDir);
    const audit = await FileAuditLog.open(dataDir);
    const client = new VergeosClient({ ...vergeosClientOptions(env), logger });
    const policy = await PolicyHolder.open(join(dir, 'no-policy.yml'), { optional: true, logger });
    // The bot's clock: a day after the VMs were made, running 120× fast.
    const realStart = Date.now();
    const now = () => realStart + 86_400_000 + (Date.now() - realStart) * FACTOR;
    const bot = createBot(
      { env, logger, store, audit, vergeos: client },
      {
        recipes: [],
        policy,
        now,
        leaseOptions: { now },
        slackRetries: 0,
        sweepIntervalMs: compressed(30_000),
        goneCheckMs: compressed(5 * MINUTE),
        addressSweepMs: compressed(5_000),
        leaseSweepMs: compressed(MINUTE),
        takeOverMs: compressed(15_000),
        archiveEveryMs: compressed(60 * MINUTE),
        policyPollMs: compressed(2_000),
        vergeosAnsweredWithinMs: compressed(6 * MINUTE),
        readinessEveryMs: compressed(30_000),
      },
    );
    await bot.start(0);
    await sleep(compressed(10 * MINUTE));
    const before = vergeos.requests.length;
    await sleep(compressed(60 * MINUTE));
    const hour = vergeos.requests.slice(before);
    await bot.stop();
    await client.close();
    await audit.close();
    await store.close();
    const byRoute = new Map<string, number>();
    for (const r of hour) byRoute.set(r.route, (byRoute.get(r.route) ?? 0) + 1);
    const note = `${hour.length} calls in a compressed hour: ${[...byRoute].map(([route, n]) => `${n} × ${route}`).join(', ') || 'none'}`;
    return { calls: hour.length, note };
  } finally {
    await slack.close();
    await vergeos.close();
    await rm(dir, { recursive: true, force: true });
  }
}
