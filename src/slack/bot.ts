/**
 * The Slack bot, composed: the core (`compose`), the Slack parts around it (`wireSlack`), the
 * listeners, readiness, the timers (`Scheduler`) and the server — started after recovering what
 * a previous process left, stopped gracefully.
 */
import type { App } from '@slack/bolt';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { compose, type Core, type Resources } from '../compose.js';
import type { Env } from '../config.js';
import type { LeaseOptions } from '../leases/leases.js';
import type { Logger } from '../log.js';
import { closeServer, opsServer } from '../ops/http.js';
import { provideGauges } from '../ops/metrics.js';
import { answeredLatelyCheck, Readiness } from '../ops/readiness.js';
import { PolicyHolder } from '../policy/watch.js';
import type { ProvisionerOptions } from '../provision/provisioner.js';
import { REQUEST_STATES } from '../store/records.js';
import { Scheduler } from '../scheduler.js';
import { withPurpose } from '../vergeos/purpose.js';
import type { Recipe } from '../vmspec/recipes.js';
import { createSlackApp } from './app.js';
import { Approvers } from './approvers.js';
import type { BotContext } from './context.js';
import { listenForEvents } from './http-server.js';
import { registerListeners } from './listeners/index.js';
import { peopleUnder } from './policy.js';
import { SlackWebApi } from './web-api.js';
import { wireSlack } from './wire.js';

export interface BotOptions {
  recipes: Recipe[];
  /** The approval policy in force (`openPolicy`). */
  policy: PolicyHolder;
  /** Provisioner timing (tests poll fast); the rest comes from the environment. */
  provisioner?: Pick<ProvisionerOptions, 'importPoll' | 'stopTimeoutMs' | 'pollMs' | 'claimTtlMs'>;
  leaseOptions?: LeaseOptions;
  /** Timer intervals (ms): leases 1 min, VMs gone 5 min, new VMs' addresses 5 s, policy file 1 s, expiry 30 s, take-over half the claim time, archive hourly. */
  leaseSweepMs?: number;
  addressSweepMs?: number;
  /** The clock the polling of new VMs' addresses runs on (tests move it; leases have theirs in `leaseOptions`). */
  now?: () => number;
  goneCheckMs?: number;
  policyPollMs?: number;
  sweepIntervalMs?: number;
  takeOverMs?: number;
  archiveEveryMs?: number;
  /** Web API retries (Bolt's default policy can wait minutes; tests use 0). */
  slackRetries?: number;
  /** How long drives may import before the thread is told power-on waits (default 60 s). */
  importNoticeMs?: number;
  /** How long a form's pre-flight may take (default 2 s, inside Slack's 3 s). */
  preflightMs?: number;
  /** How often a passing readiness check runs again (default 30 s; a failing one every second). */
  readinessEveryMs?: number;
  /** VergeOS counts as ready while any call was answered this lately (default 6 min); only then is `GET /system` asked. */
  vergeosAnsweredWithinMs?: number;
}

/**
 * Longer than the gone-VM sweep's 5 min, so a leading process's own sweep keeps VergeOS answered
 * and an idle bot spends no probe; a follower probes at most every 6 min (10 calls an hour).
 */
const VERGEOS_ANSWERED_WITHIN_MS = 6 * 60_000;

export interface Bot {
  app: App;
  core: Core;
  ctx: BotContext;
  readiness: Readiness;
  /** Starts listening (HTTP: on `port`, 0 for any) and recovers unfinished work. */
  start(port?: number): Promise<{ port: number | undefined; healthPort: number | undefined }>;
  /**
   * Graceful: new events get 503 (Socket Mode disconnects), nothing new starts, runs finish the
   * VergeOS call in flight and save it (the next start resumes them), queued Slack writes get up to
   * `flushSlackMs` (default 5 s). The caller closes the store and bounds the whole.
   */
  stop(options?: { flushSlackMs?: number }): Promise<void>;
  /** Requests: waiting ones decided, due ones expired (also on a timer). */
  sweep(): Promise<void>;
  /** Lease reminders, power-offs and deletions due now, told to owners (also on a timer). */
  sweepLeases(): Promise<void>;
  /** VMs deleted outside the bot marked gone and their owners told (also on a timer). */
  reconcile(): Promise<void>;
  /** Resolves when no run is being reported and no message is queued. */
  idle(): Promise<void>;
}

export function createBot(resources: Resources, options: BotOptions): Bot {
  const { env, logger, store } = resources;
  const { app, receiver, socketMode, slackApiUrl } = createSlackApp(env, logger, options.slackRetries);
  const slack = new SlackWebApi({ token: env.SLACK_BOT_TOKEN!, baseUrl: slackApiUrl, retries: options.slackRetries ?? 2, logger });
  const approvers = new Approvers(env.VM_APPROVERS, { logger });
  const { policy } = options;
  const core = compose(resources, {
    recipes: options.recipes,
    policy,
    people: (loaded, user) => peopleUnder({ policy, approvers, slack, env, store }, loaded, user),
    provisioner: options.provisioner,
    leaseOptions: options.leaseOptions,
    preflightMs: options.preflightMs,
    now: options.now,
  });
  const ctx = wireSlack(core, { slack, approvers, policy, importNoticeMs: options.importNoticeMs, preflightMs: options.preflightMs });
  registerListeners(app, ctx);
  const readiness = new Readiness(
    [
      { name: 'slack', run: async () => void (await slack.call('auth.test', {})) },
      answeredLatelyCheck('vergeos', {
        lastAnswerAt: () => core.vergeos.lastAnswerAt(),
        lastTroubleAt: () => core.vergeos.lastTroubleAt(),
        probe: () => withPurpose('readiness', () => core.vergeos.systemInfo()),
        withinMs: options.vergeosAnsweredWithinMs ?? VERGEOS_ANSWERED_WITHIN_MS,
      }),
      { name: 'store', run: () => core.writeHealth.probe(), now: () => core.writeHealth.problem() },
    ],
    options.readinessEveryMs === undefined ? {} : { passingEveryMs: options.readinessEveryMs },
  );
  provideGauges({
    requestsByState: () => Object.fromEntries(REQUEST_STATES.map((state) => [state, store.countRequests('state', state)])),
    pendingSlackWrites: () => ctx.notifier.pending,
    runsInFlight: () => core.provisioner.inFlight,
  });
  const scheduler = new Scheduler(() => store.leads(), logger);
  const servers: Server[] = [];
  const sweepLeases = () => core.sweeps.leases();
  return {
    app,
    core,
    ctx,
    readiness,
    sweep: () => core.sweeps.requests(),
    sweepLeases,
    reconcile: () => core.sweeps.goneVms(),
    async start(port) {
      let healthPort: number | undefined;
      let listening: number | undefined;
      if (socketMode) {
        await app.start();
        const health = env.HEALTH_PORT === undefined ? undefined : await opsServer(env.HEALTH_PORT, readiness);
        if (health) servers.push(health.server);
        healthPort = health?.port;
      } else {
        const events = await listenForEvents(port ?? env.PORT, receiver!, readiness, () => scheduler.stopping, logger);
        servers.push(events.server);
        listening = events.port;
      }
      readiness.start();
      // Filling the form's lists ahead of the first modal is background work.
      void withPurpose('refresh', async () => ctx.inventory.warm());
      policy.watch(options.policyPollMs);
      // A refused policy edit leaves the bot working under the last good policy: ready, with the why.
      readiness.warnWhen('policy', () => policy.status());
      scheduleJobs(scheduler, core, options);
      // Work a previous process left: requests to decide or expire, approvals not yet started, runs interrupted.
      await core.sweeps.requests();
      await core.recovery.recover();
      // Lease notices a previous process recorded and did not deliver.
      await sweepLeases().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'lease sweep failed'));
      return { port: listening, healthPort };
    },
    async stop(stopOptions = {}) {
      scheduler.stop();
      readiness.stop();
      ctx.homeTabs.stop();
      policy.stop();
      // Socket Mode: disconnect, so Slack hands new envelopes to the other connections.
      if (socketMode) await app.stop();
      await core.provisioner.stop();
      await core.execution.idle();
      let flushTimer: NodeJS.Timeout | undefined;
      await Promise.race([ctx.notifier.idle(), new Promise((r) => (flushTimer = setTimeout(r, stopOptions.flushSlackMs ?? 5_000)))]);
      clearTimeout(flushTimer);
      for (const server of servers) await closeServer(server);
      await slack.close();
    },
    async idle() {
      await core.execution.idle();
      await ctx.notifier.idle();
    },
  };
}

/** The background work: sweeps in the leading process only, take-over in any. */
function scheduleJobs(scheduler: Scheduler, core: Core, options: BotOptions): void {
  const archive = async () => {
    const moved = await core.store.archiveOld();
    if (moved) core.logger.info({ moved }, 'moved old finished records to the archive');
  };
  scheduler.every({ name: 'expiry sweep', everyMs: options.sweepIntervalMs ?? 30_000, led: true, run: () => core.sweeps.requests() });
  scheduler.every({
    name: 'checking for VMs deleted outside the bot',
    everyMs: options.goneCheckMs ?? 5 * 60_000,
    led: true,
    failure: 'warn',
    run: () => core.sweeps.goneVms(),
  });
  scheduler.every({
    name: 'reading new VMs’ addresses',
    everyMs: options.addressSweepMs ?? 5_000,
    led: true,
    failure: 'warn',
    run: () => core.sweeps.addresses(),
  });
  scheduler.every({ name: 'lease sweep', everyMs: options.leaseSweepMs ?? 60_000, led: true, run: () => core.sweeps.leases() });
  const takeOverMs = options.takeOverMs ?? Math.max(1_000, Math.floor(core.provisioner.claimTtlMs / 2));
  scheduler.every({ name: 'taking over stopped runs', everyMs: takeOverMs, led: false, run: () => core.recovery.takeOver() });
  scheduler.every({ name: 'archiving', everyMs: options.archiveEveryMs ?? 3_600_000, led: true, run: archive });
}

/** The policy file the environment names (POLICY_FILE, else MANIFESTS_DIR/policy.yml, which may be absent). */
export function openPolicy(env: Env, logger?: Logger): Promise<PolicyHolder> {
  return PolicyHolder.open(env.POLICY_FILE ?? join(env.MANIFESTS_DIR, 'policy.yml'), { optional: env.POLICY_FILE === undefined, logger });
}
