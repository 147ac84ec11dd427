/**
 * Three `vmbot start` replicas on one PostgreSQL, Slack's events delivered to one of them at
 * random: concurrent approvals on different replicas start one run; a replica SIGKILLed in the
 * middle of a run is replaced by another that finishes it, re-sending nothing VergeOS already did.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBot, STAND_IN_RATE_FACTOR, waitFor, workspaceEnv, type BotProcess } from '../../src/demo/workspace.js';
import { startVergeosSim, type VergeosSim } from '../../src/sim/index.js';
import { SlackDriver } from '../../src/sim/slack-driver.js';
import { SLACK_SIM, startSlackSim, type SlackSim } from '../../src/sim/slack-sim.js';
import { verifyChain } from '../../src/store/audit.js';
import { readPostgresAudit } from '../../src/store/postgres/audit.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { fileRequest } from '../helpers/flows.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

describe('three replicas on one PostgreSQL', () => {
  let postgres: TestPostgres;
  let url: string;
  let vergeos: VergeosSim;
  let slack: SlackSim;
  let dir: string;
  const bots: BotProcess[] = [];
  const drivers = () => bots.map((b) => new SlackDriver(b.url, slack));
  /** Slack hands each event to one replica: here, one at random. */
  const anyReplica = () => drivers()[Math.floor(Math.random() * bots.length)]!;

  beforeAll(async () => {
    postgres = await startPostgres();
    url = await postgres.database();
    vergeos = await startVergeosSim({ timing: { importMs: 100, startMs: 50, stopMs: 50 } });
    slack = await startSlackSim({ rateFactor: STAND_IN_RATE_FACTOR });
    dir = await mkdtemp(join(tmpdir(), 'vmbot-replicas-'));
    for (let i = 0; i < 3; i++) {
      const env = {
        ...workspaceEnv({ slackApiUrl: slack.apiUrl, vergeosUrl: vergeos.url, dataDir: join(dir, `replica-${i}`) }),
        PORT: '0',
        DATABASE_URL: url,
        RUN_CLAIM_TTL: '2s',
      };
      bots.push(await spawnBot(env));
    }
  }, 60_000);
  afterAll(async () => {
    for (const bot of bots) if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGTERM');
    await Promise.all(bots.map((b) => new Promise((r) => (b.child.exitCode !== null || b.child.signalCode !== null ? r(undefined) : b.child.once('exit', r)))));
    await slack.close();
    await vergeos.close();
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('concurrent approvals on different replicas start one run', async () => {
    const approval = structuredClone(await fileRequest({ driver: anyReplica(), slack }, 'replica-race-01'));
    const [a, b, c] = drivers();
    await Promise.all([
      a!.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve'),
      b!.clickMessageButton(SLACK_SIM.lead2, approval, 'request_approve'),
      c!.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve'),
    ]);
    await waitFor(() => slack.thread(approval.channel, approval.ts).find((m) => m.text.includes('is ready')), 'the summary', 20_000);
    expect(vergeos.requestsTo('POST /vms').filter((r) => (r.body as { name: string }).name === 'replica-race-01')).toHaveLength(1);
    expect([...vergeos.state.table('vms').values()].filter((v) => v.name === 'replica-race-01')).toHaveLength(1);
    expect(slack.thread(approval.channel, approval.ts).filter((m) => m.text.includes('is ready'))).toHaveLength(1);
  }, 40_000);

  it('a replica killed mid-run: another finishes the run, nothing VergeOS did is sent again, the audit chain verifies', async () => {
    const approval = structuredClone(await fileRequest({ driver: anyReplica(), slack }, 'replica-kill-01'));
    vergeos.faults.add({ route: 'POST /machine_drives', latencyMs: 1_500 });
    const drivesBefore = vergeos.requestsTo('POST /machine_drives').length;
    // The replica that takes the click runs the request.
    const victim = bots[0]!;
    await new SlackDriver(victim.url, slack).clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await waitFor(() => vergeos.requestsTo('POST /machine_drives').length > drivesBefore, 'the drive POST on the wire');
    victim.child.kill('SIGKILL');
    await new Promise((r) => victim.child.once('exit', r));
    bots.splice(0, 1);

    await waitFor(() => slack.thread(approval.channel, approval.ts).find((m) => m.text.includes('is ready')), 'the summary from another replica', 30_000);
    vergeos.faults.clear();
    const thread = slack.thread(approval.channel, approval.ts).map((m) => m.text);
    expect(thread.some((t) => t.includes('another one takes over'))).toBe(true);
    expect(vergeos.requestsTo('POST /vms').filter((r) => (r.body as { name: string }).name === 'replica-kill-01')).toHaveLength(1);
    const vm = [...vergeos.state.table('vms').values()].filter((v) => v.name === 'replica-kill-01');
    expect(vm).toHaveLength(1);
    // The drive POST the killed replica sent was done by VergeOS: found, not sent again.
    const drivePosts = vergeos.requestsTo('POST /machine_drives').filter((r) => String((r.body as { machine: unknown }).machine) === String(vm[0]!.machine));
    expect(drivePosts).toHaveLength(1);
    expect([...vergeos.state.table('machine_drives').values()].filter((d) => String(d.machine) === String(vm[0]!.machine))).toHaveLength(1);

    const store = await PostgresStore.open(url);
    try {
      const run = store.listRuns((r) => r.spec.vm.name === 'replica-kill-01')[0]!;
      expect(run).toMatchObject({ state: 'succeeded' });
      expect(run.steps['drive:0']).toMatchObject({ status: 'done', reconciled: true, attempts: 1 });
    } finally {
      await store.close();
    }
    expect(await verifyChain(readPostgresAudit(url))).toMatchObject({ ok: true });
  }, 60_000);
});
