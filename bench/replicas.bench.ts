/**
 * Requests filed and approved per second: 60 requests, 10 in flight, each a /vm-create, the
 * modal's submission and a lead's Approve, until the approval message says who approved. The bot
 * as its own process(es): one on the embedded (lowdb) store, one on PostgreSQL, three replicas on
 * PostgreSQL with each event sent to one at random. The Slack stand-in runs here (its rate limits
 * off and the bots' pacing raised: this measures the store and the bot, not Slack's pace); the
 * VergeOS simulator in its own process. On this 2-core machine three replicas share the cores of
 * one (with PostgreSQL, the stand-ins and the driver): replicas are for surviving a host, so the
 * target is that three keep at least two thirds of one's throughput (ratio ≤ 1.5); with a core
 * each they would pull ahead.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBot, waitFor, workspaceEnv, type BotProcess } from '../src/demo/workspace.js';
import { SlackDriver } from '../src/sim/slack-driver.js';
import { SLACK_SIM, startSlackSim, type SlackSim } from '../src/sim/slack-sim.js';
import { spawnSim, type Benchmark } from './harness.js';
import { startPostgres } from '../test/helpers/postgres.js';

const REQUESTS = 60;
const IN_FLIGHT = 10;

/** Bench requesters: one per lane, so each lane's modal is its own. */
const LANE_USERS = Array.from({ length: IN_FLIGHT }, (_, i) => `U0BENCH${i}`);

async function fileAndApprove(slack: SlackSim, bots: BotProcess[], prefix: string): Promise<number> {
  const pick = () => new SlackDriver(bots[Math.floor(Math.random() * bots.length)]!.url, slack);
  const started = performance.now();
  await Promise.all(
    LANE_USERS.map(async (user, lane) => {
      for (let i = lane; i < REQUESTS; i += IN_FLIGHT) {
        const name = `${prefix}-${i}`;
        const opens = slack.callsTo('views.open').length;
        await pick().command(user, 'bench-small', SLACK_SIM.generalChannel);
        await waitFor(() => slack.callsTo('views.open').length > opens && slack.openView(user), 'the modal', 20_000, 2);
        const reply = await pick().submit(user, slack.openView(user)!, { name });
        if (reply.status !== 200 || reply.body !== '') throw new Error(`submission answered ${reply.status} ${reply.body}`);
        const approval = await waitFor(
          () => slack.channelMessages(SLACK_SIM.approvalChannel).find((m) => m.text.includes(`asks for VM ${name} (`)),
          'the approval message',
          20_000,
          2,
        );
        const clicked = await pick().clickMessageButton(SLACK_SIM.lead1, structuredClone(approval), 'request_approve');
        if (clicked.status !== 200) throw new Error(`the click on ${name} answered ${clicked.status} ${clicked.body}`);
        await waitFor(() => slack.messages.find((m) => m.ts === approval.ts && JSON.stringify(m.blocks).includes('Approved by')), 'the decision', 20_000, 2);
      }
    }),
  );
  return performance.now() - started;
}

export const replicasBenchmark: Benchmark = {
  name: 'replicas: requests filed and approved per second',
  async run() {
    const vergeos = await spawnSim(['--import-ms', '50']);
    const slack = await startSlackSim({ rateLimits: false });
    slack.addMembers(LANE_USERS);
    const dir = await mkdtemp(join(tmpdir(), 'vmbot-bench-replicas-'));
    // A small VM (a 1 GiB disk), so hundreds fit the simulator's tiers.
    await mkdir(join(dir, 'manifests'));
    await writeFile(
      join(dir, 'manifests', 'bench-small.yml'),
      'recipe: bench-small\ntitle: Bench small\nvm: { cluster: "1", cpu_cores: 1, ram: 1GiB }\ndrives:\n  - { name: OS Drive, disksize: 1GiB, preferred_tier: "2" }\nnics:\n  - { name: lan, vnet: "4" }\npower_on: true\n',
    );
    const postgres = await startPostgres();
    const env = (i: number, extra: Record<string, string>) => ({
      ...workspaceEnv({ slackApiUrl: slack.apiUrl, vergeosUrl: vergeos.url, dataDir: join(dir, `data-${i}-${Math.random().toString(36).slice(2)}`) }),
      PORT: '0',
      MANIFESTS_DIR: join(dir, 'manifests'),
      LOG_LEVEL: 'error',
      SLACK_RATE_FACTOR: '1000',
      VM_SUBMISSIONS_PER_HOUR: '10000',
      ...extra,
    });
    const measure = async (label: string, start: () => Promise<BotProcess[]>) => {
      await fetch(`${vergeos.url}/__sim/reset`, { method: 'POST' }); // an empty VergeOS for each
      const bots = await start();
      try {
        await fileAndApprove(slack, bots, `warm-${label}`); // JIT, pools, caches
        return await fileAndApprove(slack, bots, label);
      } catch (err) {
        throw new Error(`${label}: ${(err as Error).message}\n${bots.map((b) => b.log()).join('\n')}`);
      } finally {
        for (const b of bots) b.child.kill('SIGTERM');
        await Promise.all(bots.map((b) => new Promise((r) => b.child.once('exit', r))));
      }
    };
    try {
      const lowdb = await measure('lowdb', async () => [await spawnBot(env(0, {}))]);
      const one = await measure('pg1', async () => {
        const url = await postgres.database();
        return [await spawnBot(env(1, { DATABASE_URL: url }))];
      });
      const three = await measure('pg3', async () => {
        const url = await postgres.database();
        const bots: BotProcess[] = [];
        for (let i = 0; i < 3; i++) bots.push(await spawnBot(env(2 + i, { DATABASE_URL: url })));
        return bots;
      });
      const perSecond = (ms: number) => `${((REQUESTS * 1000) / ms).toFixed(1)}/s`;
      return [
        {
          name: `${REQUESTS} requests filed + approved, PostgreSQL 1 replica vs lowdb`,
          value: one,
          baseline: lowdb,
          unit: 'ms',
          target: Number.POSITIVE_INFINITY,
          note: `PostgreSQL ${perSecond(one)}, lowdb ${perSecond(lowdb)}`,
        },
        {
          name: `${REQUESTS} requests filed + approved, 3 replicas vs 1 on PostgreSQL`,
          value: three,
          baseline: one,
          unit: 'ms',
          target: 1.5,
          note: `3 replicas ${perSecond(three)}, 1 replica ${perSecond(one)}`,
        },
      ];
    } finally {
      await postgres.stop();
      await slack.close();
      await vergeos.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
