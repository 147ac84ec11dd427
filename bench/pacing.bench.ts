/**
 * Slack output at Slack's real pace, end to end: the bot as its own process (`vmbot start`), the
 * Slack stand-in enforcing Slack's published limits (rate factor 1), the VergeOS simulator in its
 * own process. Three measurements, each against an ideal computed or measured in the same run:
 *
 * 1. Approve click → thread summary and audit line, one one-drive VM, VergeOS at 0 ms. Ideal: the
 *    click delivered and answered (the signed request's round trip to the bot), then the same VM
 *    provisioned by the provisioner in a fresh process of its own (as fresh as the bot, warmed by
 *    the same rounds) against the same simulator, then one
 *    chat.postMessage round trip to the stand-in (Slack's limits require no wait: the lead
 *    approves a few seconds after the request was posted, so the channel's burst is available).
 *    Targets: ≤ 1.5 × ideal, and ≤ 2 s.
 * 2. Ten requests approved at once in one channel: until all ten summaries are in. Bound: the
 *    channel's posts (a progress message and a summary per request) at Slack's pace of one per
 *    second after a burst of 3. Target ≤ 1.3 × bound.
 * 3. A Slack batch of 50 with 20 ms per VergeOS call: approve → summary. Ideal: the CLI's batch
 *    time, ceil(50 / 8 at once) × 5 calls × 20 ms. Target ≤ 1.3 × ideal + 2 s.
 *
 * BENCH_DEBUG=1 prints each round's Slack calls with their times after the click, and the bot's log.
 */
import { text } from '../src/text.js';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnBot, waitFor, workspaceEnv, type BotProcess } from '../src/demo/workspace.js';
import { SlackDriver } from '../src/sim/slack-driver.js';
import { SLACK_SIM, SLACK_SIM_BOT_TOKEN, startSlackSim, type SlackMessage, type SlackSim } from '../src/sim/slack-sim.js';
import { SLACK_RATE_LIMITS } from '../src/slack/rate-limits.js';
import { SlackWebApi } from '../src/slack/web-api.js';
import { median, spawnSim, type Benchmark, type BenchResult } from './harness.js';

const SINGLE_ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const WARMUP_ROUNDS = 3;
const BATCH = 50;
const BATCH_CONCURRENCY = 8;
const BATCH_LATENCY_MS = 20;
/** Slack's own pace for chat.postMessage in one channel. */
const SLACK_POSTS_PER_SECOND = SLACK_RATE_LIMITS['chat.postMessage']!.perMinute / 60;
const SLACK_POST_BURST = SLACK_RATE_LIMITS['chat.postMessage']!.burst;
/** Long enough for the bot's (more careful) channel bucket to refill between rounds. */
const REFILL_MS = 3_200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Until `check` holds: for setup, a poll; on the stand-in, checked as each message lands. */
const until = <T>(check: () => T | undefined | false, timeoutMs = 60_000): Promise<T> => waitFor(check, 'the bot', timeoutMs, 2);

/** Resolves the moment the stand-in has a message that makes `check` hold (no polling delay in what is timed). */
function whenPosted<T>(slack: SlackSim, check: () => T | undefined | false, timeoutMs = 120_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = check();
    if (done) return resolve(done);
    const timer = setTimeout(() => (slack.events.off('message', onMessage), reject(new Error('timed out'))), timeoutMs);
    const onMessage = () => {
      const value = check();
      if (!value) return;
      clearTimeout(timer);
      slack.events.off('message', onMessage);
      resolve(value);
    };
    slack.events.on('message', onMessage);
  });
}

interface Scene {
  slack: SlackSim;
  bot: BotProcess;
  driver: SlackDriver;
  vergeosUrl: string;
  close(): Promise<void>;
}

async function scene(latencyMs: number): Promise<Scene> {
  // Addresses are reported after the run (an hour): each VM's address message would otherwise share
  // the approval channel's pace with the next round's summary. Queued posts are measured by
  // "10 requests approved at once".
  const vergeos = await spawnSim(['--latency-ms', String(latencyMs), '--import-ms', '100', '--address-ms', '3600000']);
  const slack = await startSlackSim({ rateFactor: 1 });
  const dataDir = await mkdtemp(join(tmpdir(), 'vmbot-pacing-bench-'));
  const env = {
    ...workspaceEnv({ slackApiUrl: slack.apiUrl, vergeosUrl: vergeos.url, dataDir }),
    SLACK_RATE_FACTOR: '1',
    VM_BATCH_MAX: String(BATCH),
    VM_BATCH_CONCURRENCY: String(BATCH_CONCURRENCY),
    // One requester files every request here: the per-person limits would stop the bench, not Slack.
    VM_MAX_PENDING_PER_USER: '1000',
    VM_SUBMISSIONS_PER_HOUR: '10000',
    LOG_LEVEL: 'silent',
    PORT: '0',
  };
  const bot = await spawnBot(env);
  if (process.env.BENCH_DEBUG) bot.child.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  return {
    slack,
    bot,
    driver: new SlackDriver(bot.url, slack),
    vergeosUrl: vergeos.url,
    async close() {
      await new Promise<void>((resolve) => (bot.child.once('exit', () => resolve()), bot.child.kill('SIGTERM')));
      await slack.close();
      await vergeos.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The requester files a request from a recipe; resolves with the approval message. */
async function file(s: Scene, recipe: string, name: string, count = 1): Promise<SlackMessage> {
  const before = s.slack.channelMessages(SLACK_SIM.approvalChannel).length;
  await s.driver.command(SLACK_SIM.requester, recipe);
  const modal = await until(() => s.slack.openView(SLACK_SIM.requester));
  s.slack.closeView(modal.id);
  const reply = await s.driver.submit(SLACK_SIM.requester, modal, { name, ...(count > 1 ? { count: String(count) } : {}) });
  if (reply.body !== '') throw new Error(`submission refused: ${reply.body}`);
  return until(() => s.slack.channelMessages(SLACK_SIM.approvalChannel)[before]);
}

const summaryOf = (s: Scene, approval: SlackMessage, text: string) => s.slack.thread(SLACK_SIM.approvalChannel, approval.ts).find((m) => m.text.includes(text));
const auditLineFor = (s: Scene, name: string) => s.slack.channelMessages(SLACK_SIM.auditChannel).find((m) => m.text.includes(`*${name}*`));

/**
 * The same one-drive VM through the provisioner, in a process of its own started with the bot's
 * (this process is warm from the benchmarks before; the bot is not): the VergeOS part of the ideal.
 */
async function idealProvisioner(vergeosUrl: string): Promise<{ time: (name: string) => Promise<number>; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./ideal-provisioner.ts', import.meta.url))], {
    env: { PATH: process.env.PATH ?? '', VERGEOS_URL: vergeosUrl },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  process.once('exit', () => child.kill());
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await lines.next();
    if (line.done) throw new Error('the ideal provisioner exited');
    return line.value;
  };
  if ((await next()) !== 'ready') throw new Error('the ideal provisioner did not start');
  return {
    async time(name) {
      child.stdin.write(`${name}\n`);
      return (JSON.parse(await next()) as { ms: number }).ms;
    },
    stop: () => void child.kill(),
  };
}

/** One chat.postMessage round trip to the stand-in (a channel the bot does not use). */
async function postRoundTrip(slack: SlackSim): Promise<number> {
  const api = new SlackWebApi({ token: SLACK_SIM_BOT_TOKEN, baseUrl: slack.apiUrl, retries: 0 });
  try {
    await api.chat.postMessage({ channel: SLACK_SIM.generalChannel, text: 'warm-up' });
    await sleep(1_100);
    const started = performance.now();
    await api.chat.postMessage({ channel: SLACK_SIM.generalChannel, text: 'timed' });
    return performance.now() - started;
  } finally {
    await api.close();
  }
}

export async function singleVm(): Promise<BenchResult[]> {
  const s = await scene(0);
  try {
    const actual: number[] = [];
    const ideal: number[] = [];
    const post = await postRoundTrip(s.slack);
    const ideal1 = await idealProvisioner(s.vergeosUrl);
    // Warm-up rounds first: the bot is a fresh process, while this process (which measures the
    // ideal) is already warm from the benchmarks before; both sides should be compared warm.
    for (let round = 0; round < SINGLE_ROUNDS + WARMUP_ROUNDS; round++) {
      const name = `pace-${round}`;
      const approval = await file(s, 'web-server', name);
      await sleep(REFILL_MS);
      const started = performance.now();
      await s.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
      const answered = performance.now() - started;
      await whenPosted(s.slack, () => summaryOf(s, approval, 'is ready') && auditLineFor(s, name));
      const took = performance.now() - started;
      if (process.env.BENCH_DEBUG) {
        const t0 = Date.now() - took;
        process.stderr.write(
          `round ${round}: ${took.toFixed(1)} ms\n${s.slack.calls
            .filter((c) => c.at >= t0 - 5)
            .map((c) => `  +${c.at - t0} ${c.method} ${text(c.args.text).slice(0, 50)}`)
            .join('\n')}\n`,
        );
      }
      const vergeosPart = await ideal1.time(`ideal-${round}`);
      if (round < WARMUP_ROUNDS) continue; // first modal, first group lookup, JIT
      actual.push(took);
      ideal.push(answered + vergeosPart + post);
    }
    ideal1.stop();
    if (s.slack.rateLimited().length) throw new Error(`the stand-in answered 429 ${s.slack.rateLimited().length} times`);
    const value = median(actual);
    return [
      {
        name: "approve → summary + audit line, one one-drive VM, Slack's limits, VergeOS 0 ms",
        value,
        baseline: median(ideal),
        unit: 'ms',
        target: 1.5,
        note: `ideal = the click's round trip + the same VM via the provisioner in a fresh process + one postMessage round trip; median of ${SINGLE_ROUNDS}`,
      },
      { name: 'approve → summary + audit line, absolute', value, baseline: 2_000, unit: 'ms', target: 1, note: 'against the 2 s ceiling' },
    ];
  } finally {
    await s.close();
  }
}

async function tenAtOnce(): Promise<BenchResult[]> {
  const s = await scene(0);
  try {
    const approvals: SlackMessage[] = [];
    for (let i = 0; i < 10; i++) approvals.push(await file(s, 'web-server', `ten-${i}`));
    await sleep(REFILL_MS);
    const started = performance.now();
    await Promise.all(approvals.map((a) => s.driver.clickMessageButton(SLACK_SIM.lead1, a, 'request_approve')));
    await whenPosted(s.slack, () => approvals.every((a) => summaryOf(s, a, 'is ready')));
    const took = performance.now() - started;
    if (s.slack.rateLimited().length) throw new Error(`the stand-in answered 429 ${s.slack.rateLimited().length} times`);
    const posts = approvals.length * 2; // a progress message and a summary each, in the one channel
    const bound = ((posts - SLACK_POST_BURST) / SLACK_POSTS_PER_SECOND) * 1000;
    return [
      {
        name: '10 requests approved at once in one channel: all summaries',
        value: took,
        baseline: bound,
        unit: 'ms',
        target: 1.3,
        note: `bound = (${posts} posts − burst ${SLACK_POST_BURST}) at ${SLACK_POSTS_PER_SECOND}/s`,
      },
    ];
  } finally {
    await s.close();
  }
}

async function batchOf50(): Promise<BenchResult[]> {
  const s = await scene(BATCH_LATENCY_MS);
  try {
    const approval = await file(s, 'iso-install', 'fifty-{n}', BATCH);
    await sleep(REFILL_MS);
    const started = performance.now();
    await s.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await whenPosted(s.slack, () => summaryOf(s, approval, `${BATCH} of ${BATCH} VMs ready`));
    const took = performance.now() - started;
    if (s.slack.rateLimited().length) throw new Error(`the stand-in answered 429 ${s.slack.rateLimited().length} times`);
    const callsPerVm = 5; // iso-install: VM, CD-ROM, disk, NIC, power on
    const ideal = Math.ceil(BATCH / BATCH_CONCURRENCY) * callsPerVm * BATCH_LATENCY_MS;
    return [
      {
        name: `Slack batch of ${BATCH}, ${BATCH_LATENCY_MS} ms per VergeOS call: approve → summary`,
        value: took,
        baseline: 1.3 * ideal + 2_000,
        unit: 'ms',
        target: 1,
        note: `baseline = 1.3 × the CLI's ideal ${ideal} ms (ceil(${BATCH}/${BATCH_CONCURRENCY}) × ${callsPerVm} × ${BATCH_LATENCY_MS} ms) + 2 s`,
      },
    ];
  } finally {
    await s.close();
  }
}

export const pacingBenchmark: Benchmark = {
  name: 'slack pacing end to end',
  async run() {
    return [...(await singleVm()), ...(await tenAtOnce()), ...(await batchOf50())];
  },
};
