/**
 * Ack latency of /vm-create: 200 signed requests, 20 at a time, to the real bot (which acks, then
 * opens the modal on the Slack stand-in) versus a bare Bolt app that only acks, in the same run.
 * Target: p99 ratio ≤ 1.5, and p99 well under Slack's 3 s.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnBot, workspaceEnv } from '../src/demo/workspace.js';
import { remoteTriggers, SlackDriver } from '../src/sim/slack-driver.js';
import { SLACK_SIM, SLACK_SIM_SIGNING_SECRET, type SlackSim } from '../src/sim/slack-sim.js';
import { inParallel, median, spawnSim, spawnSlackSim, type Benchmark } from './harness.js';

const REQUESTS = 200;
const CONCURRENCY = 20;
const ROUNDS = 9;
const WARMUP = 200;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function latencies(driver: SlackDriver, count: number): Promise<number[]> {
  const out: number[] = [];
  await inParallel(count, CONCURRENCY, async (i) => {
    // The trigger id comes from the stand-in (as Slack issues it) before the clock starts: only
    // the signed request and the bot's answer are timed.
    const triggerId = await driver.triggers.issueTrigger(SLACK_SIM.requester);
    const started = performance.now();
    const reply = await driver.command(SLACK_SIM.requester, i % 2 ? 'web-server' : '', undefined, { triggerId });
    out.push(performance.now() - started);
    if (reply.status !== 200) throw new Error(`command answered ${reply.status}`);
  });
  return out;
}

/** The bare Bolt app in its own process, like the bot. */
async function spawnBare(env: Record<string, string>): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./bare-bolt.ts', import.meta.url))], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.once('exit', () => child.kill());
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the bare Bolt app exited (${code})`)));
  });
  return { url, stop: () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM'))) };
}

export const slackBenchmark: Benchmark = {
  name: 'slack command ack latency',
  async run() {
    // Everything but the driver runs in its own process, as in production: the VergeOS
    // simulator, the Slack stand-in (its work checking every modal is not the bot's), the bot
    // (`vmbot start`) and the bare Bolt app.
    const vergeosSim = await spawnSim();
    // Rate limits off here: 1,800 modals in a minute is beyond Slack's Tier 4 by construction;
    // this measures the ack path, not pacing (the provisioning benchmark runs with Slack's limits).
    const slackSim = await spawnSlackSim(['--no-rate-limits']);
    const triggers = remoteTriggers(slackSim.url);
    const dir = await mkdtemp(join(tmpdir(), 'vmbot-slack-bench-'));
    const env = { ...workspaceEnv({ slackApiUrl: slackSim.url, vergeosUrl: vergeosSim.url, dataDir: dir }), LOG_LEVEL: 'silent', PORT: '0' };
    const bot = await spawnBot(env);
    const bare = await spawnBare(env);
    const bareDriver = new SlackDriver(bare.url, undefined as unknown as SlackSim, SLACK_SIM_SIGNING_SECRET, triggers);
    const botDriver = new SlackDriver(bot.url, undefined as unknown as SlackSim, SLACK_SIM_SIGNING_SECRET, triggers);
    try {
      // Warm both (JIT, connections, lazily loaded modules) before measuring.
      await latencies(bareDriver, WARMUP);
      await latencies(botDriver, WARMUP);
      // Per round, each side's p50 and p99; the medians over rounds are compared, so one round
      // hit by a stray pause on this shared machine does not decide the result.
      const bareRounds: number[][] = [];
      const botRounds: number[][] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 ? [botDriver, bareDriver] : [bareDriver, botDriver];
        for (const driver of order) (driver === bareDriver ? bareRounds : botRounds).push(await latencies(driver, REQUESTS));
      }
      const at = (rounds: number[][], p: number) => median(rounds.map((r) => percentile(r, p)));
      // Modals open just after each ack; let the last ones land, then check they all opened.
      const expected = REQUESTS * ROUNDS + WARMUP;
      let opened = 0;
      for (let i = 0; i < 100 && opened < expected; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const state = (await (await fetch(`${slackSim.url.replace(/api\/$/, '')}__sim/state`)).json()) as { views: Array<{ user: string; type: string }> };
        opened = state.views.filter((v) => v.type === 'modal').length;
      }
      if (opened < expected) throw new Error(`only ${opened} of ${expected} modals opened`);
      const p99 = at(botRounds, 99);
      return [
        {
          name: `${REQUESTS}×${ROUNDS} /vm-create at ${CONCURRENCY} concurrent: p50 ack`,
          value: at(botRounds, 50),
          baseline: at(bareRounds, 50),
          unit: 'ms',
          target: Number.POSITIVE_INFINITY,
          note: 'baseline: a bare Bolt app that only acks; the target is on p99',
        },
        {
          name: `${REQUESTS}×${ROUNDS} /vm-create at ${CONCURRENCY} concurrent: p99 ack`,
          value: p99,
          baseline: at(bareRounds, 99),
          unit: 'ms',
          target: 1.5,
          note: `median over ${ROUNDS} rounds; p99 ${p99.toFixed(0)} ms vs Slack's 3000 ms`,
        },
      ];
    } finally {
      await bare.stop();
      await new Promise<void>((resolve) => (bot.child.once('exit', () => resolve()), bot.child.kill('SIGTERM')));
      await slackSim.stop();
      await vergeosSim.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
