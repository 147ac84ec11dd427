/**
 * The production install, as deploy/Dockerfile builds it (this machine cannot pull base images, so
 * the test does the Dockerfile's own COPY and RUN steps in temporary directories and starts its
 * CMD): no dev dependency, ready only once Slack and VergeOS answer, metrics with exact values.
 */
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAND_IN_RATE_FACTOR, waitFor, workspaceEnv } from '../../src/demo/workspace.js';
import { startVergeosSim, type VergeosSim } from '../../src/sim/index.js';
import { SlackDriver } from '../../src/sim/slack-driver.js';
import { SLACK_SIM, startSlackSim, type SlackSim } from '../../src/sim/slack-sim.js';
import { freePort } from '../helpers/postgres.js';
import { fileRequest } from '../helpers/flows.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Stage {
  copies: Array<{ from?: string; sources: string[]; dest: string }>;
  runs: string[];
  env: Record<string, string>;
  cmd: string[];
}

/** The Dockerfile's stages: COPY, RUN, ENV and CMD (continuation lines joined). */
function readDockerfile(): Stage[] {
  const lines = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op === 'FROM') stages.push({ copies: [], runs: [], env: {}, cmd: [] });
    const stage = stages.at(-1)!;
    if (op === 'RUN') stage.runs.push(args);
    if (op === 'CMD') stage.cmd = JSON.parse(args) as string[];
    if (op === 'ENV') for (const m of args.matchAll(/(\w+)=(\S+)/g)) stage.env[m[1]!] = m[2]!;
    if (op === 'COPY') {
      const from = /^--from=(\w+)\s+/.exec(args)?.[1];
      const parts = args.replace(/^--from=\w+\s+/, '').split(/\s+/);
      stage.copies.push({ from, sources: parts.slice(0, -1), dest: parts.at(-1)! });
    }
  }
  return stages;
}

function copyInto(sourceRoot: string, sources: string[], destRoot: string, dest: string): void {
  for (const source of sources) {
    const from = join(sourceRoot, source.replace(/^\/app\//, ''));
    const into = dest.endsWith('/') ? join(destRoot, dest, source.split('/').at(-1)!) : join(destRoot, dest);
    cpSync(from, into, { recursive: true });
  }
}

const get = async (url: string) => {
  const res = await request(url);
  return { status: res.statusCode, text: await res.body.text() };
};

describe('the production install (deploy/Dockerfile)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmbot-prod-'));
  const build = join(dir, 'build');
  const app = join(dir, 'app');
  let bot: ChildProcess | undefined;
  let vergeos: VergeosSim | undefined;
  let slack: SlackSim | undefined;
  afterAll(async () => {
    bot?.kill('SIGTERM');
    await slack?.close();
    await vergeos?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeAll(() => {
    const [builder, runtime] = readDockerfile();
    for (const c of builder!.copies) copyInto(ROOT, c.sources, build, c.dest);
    // Exactly the Dockerfile's RUN steps; npm works from its cache (tests never reach the internet).
    for (const run of builder!.runs) {
      try {
        execSync(run, { cwd: build, stdio: 'pipe', env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' } });
      } catch (err) {
        const stderr = String((err as { stderr?: Buffer }).stderr ?? '');
        throw new Error(
          `${run} failed${/ENOTCACHED/.test(stderr) ? ' (npm installs from its cache here: run npm ci in the repository first)' : ''}:\n${stderr}`,
        );
      }
    }
    for (const c of runtime!.copies) copyInto(c.from ? build : ROOT, c.sources, app, c.dest);
  }, 180_000);

  it('has no dev dependency; /readyz is 503 until Slack and VergeOS answer; /metrics counts one provisioned VM exactly', async () => {
    for (const dev of ['typescript', 'vitest', 'tsx', 'eslint', 'nock']) expect(existsSync(join(app, 'node_modules', dev))).toBe(false);
    expect(existsSync(join(app, 'dist/cli.js'))).toBe(true);
    expect(existsSync(join(app, 'src'))).toBe(false);

    const [, runtime] = readDockerfile();
    const [slackPort, vergeosPort] = [await freePort(), await freePort()];
    const env = {
      ...runtime!.env,
      ...workspaceEnv({ slackApiUrl: `http://127.0.0.1:${slackPort}/api/`, vergeosUrl: `http://127.0.0.1:${vergeosPort}`, dataDir: join(dir, 'data') }),
      MANIFESTS_DIR: join(app, 'manifests'),
      PORT: '0',
      VMBOT_POLL_INTERVAL: '50ms',
      // As in production: the budget at VergeOS's limit (the stand-in workspace turns it off).
      VERGEOS_RATE_LIMIT: '1000/h',
    };
    bot = spawn(runtime!.cmd[0]!, runtime!.cmd.slice(1), { cwd: app, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let log = '';
    bot.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    bot.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const url = await waitFor(() => /vmbot listening on (http:\/\/127\.0\.0\.1:\d+)\/slack\/events/.exec(out)?.[1], `the bot listening\n${log}`, 30_000);

    expect(await get(`${url}/healthz`)).toEqual({ status: 200, text: '{"ok":true}' });
    let notReady = await get(`${url}/readyz`);
    for (let i = 0; notReady.text.includes('not checked yet') && i < 100; i++)
      notReady = await new Promise((r) => setTimeout(r, 100)).then(() => get(`${url}/readyz`));
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.text)).toMatchObject({ ok: false, ready: false, checks: { slack: { ok: false }, vergeos: { ok: false }, store: { ok: true } } });
    expect(JSON.parse(notReady.text).reason).toMatch(/^slack: .+; vergeos: VERGEOS_UNAVAILABLE/);

    // The stand-ins come up on the ports the bot was given.
    slack = await startSlackSim({ port: slackPort, rateFactor: STAND_IN_RATE_FACTOR });
    vergeos = await startVergeosSim({ port: vergeosPort, timing: { importMs: 100, startMs: 0, stopMs: 0 } });
    let ready = await get(`${url}/readyz`);
    for (let i = 0; ready.status !== 200 && i < 100; i++) ready = await new Promise((r) => setTimeout(r, 100)).then(() => get(`${url}/readyz`));
    expect(ready.status).toBe(200);

    const ws = { driver: new SlackDriver(url, slack), slack };
    const approval = await fileRequest(ws, 'prod-01');
    await ws.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await waitFor(() => slack!.thread(approval.channel, approval.ts).find((m) => m.text.includes('is ready')), 'the summary', 20_000);

    const metrics = (await get(`${url}/metrics`)).text;
    const value = (series: string) => new RegExp(`^${series.replace(/[{}"/.]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(metrics)?.[1];
    expect(value('vmbot_requests{state="succeeded"}')).toBe('1');
    expect(value('vmbot_request_decision_seconds_count{decision="approved"}')).toBe('1');
    expect(value('vmbot_runs_total{outcome="succeeded"}')).toBe('1');
    expect(value('vmbot_run_duration_seconds_count{outcome="succeeded"}')).toBe('1');
    expect(metrics).not.toMatch(/^vmbot_runs_total\{outcome="failed"\}/m);
    // web-server: the VM, one drive, one NIC, power on — each POSTed once and answered 201.
    for (const endpoint of ['/vms', '/machine_drives', '/machine_nics', '/vm_actions']) {
      expect(value(`vmbot_vergeos_requests_total{method="POST",endpoint="${endpoint}",status="201",purpose="provision"}`)).toBe('1');
    }
    expect(value('vmbot_vergeos_requests_total{method="POST",endpoint="/machine_devices",status="201",purpose="provision"}')).toBeUndefined();
    // Pre-flight's name check, counted apart; the budget (VergeOS's 1000/h by default) shows what is left.
    expect(Number(value('vmbot_vergeos_requests_total{method="GET",endpoint="/vms",status="200",purpose="preflight"}'))).toBeGreaterThanOrEqual(1);
    expect(value('vmbot_vergeos_budget_per_hour')).toBe('1000');
    expect(Number(value('vmbot_vergeos_budget_remaining'))).toBeGreaterThan(0);
    expect(Number(value('vmbot_vergeos_budget_remaining'))).toBeLessThanOrEqual(45);
    expect(Number(value('vmbot_vergeos_request_duration_seconds_count{method="POST",endpoint="/vms"}'))).toBe(1);
    expect(value('vmbot_runs_in_flight')).toBe('0');
    expect(value('vmbot_slack_rate_limited_total{method="chat.postMessage"}')).toBeUndefined();
  }, 90_000);
});
