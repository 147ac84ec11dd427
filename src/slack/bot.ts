/**
 * The Slack bot: a Bolt app (HTTP mode on /slack/events, or Socket Mode when SLACK_APP_TOKEN is
 * set) wired to the provisioning core, plus the expiry sweeper, the start-up recovery of anything
 * a previous process left half done, the operator's endpoints (/healthz, /readyz, /metrics) and a
 * graceful stop.
 */
import { App, HTTPReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, handleOps, opsServer } from '../ops/http.js';
import { provideGauges } from '../ops/metrics.js';
import { Readiness } from '../ops/readiness.js';
import type { Env } from '../config.js';
import type { Logger } from '../log.js';
import type { Provisioner } from '../provision/provisioner.js';
import { Requests } from '../requests/requests.js';
import type { Recipe } from '../vmspec/recipes.js';
import type { AuditLog } from '../store/audit.js';
import { StoreError, type Store } from '../store/store.js';
import { REQUEST_STATES, type RunRecord } from '../store/records.js';
import type { VergeosApi } from '../vergeos/client.js';
import { AfterAck } from './after-ack.js';
import { Approvers } from './approvers.js';
import { HomeTabs } from './home-tabs.js';
import type { BotContext } from './context.js';
import { InventoryCache } from './inventory.js';
import { register as registerApproval } from './listeners/approval.js';
import { register as registerGate } from './listeners/gate.js';
import { RequesterGate } from './requesters.js';
import { register as registerCommands } from './listeners/commands.js';
import { register as registerHome } from './listeners/home.js';
import { register as registerVms } from './listeners/vms.js';
import { register as registerModal } from './listeners/modal.js';
import { register as registerOptions } from './listeners/options.js';
import { Notifier } from './notifier.js';
import { RequestProvisioning } from './provisioning.js';
import { Leases, type LeaseOptions } from '../leases/leases.js';
import { leaseNotice } from './views/vms.js';
import { escapeText } from './escape.js';
import { PolicyHolder as PolicyHolderClass, type PolicyHolder } from '../policy/watch.js';
import { join } from 'node:path';
import { SlackWebApi } from './web-api.js';
import { RequestFiling } from '../workflows/file-request.js';
import { peopleUnder } from './policy.js';
import { announceFiled } from './announce.js';
import { refuseFutureTimestamp } from './request-timestamps.js';
import { auditLine, decidedRequest, requesterUpdate, say } from './views/messages.js';

export interface BotOptions {
  env: Env;
  logger: Logger;
  store: Store;
  audit: AuditLog;
  vergeos: VergeosApi;
  provisioner: Provisioner;
  recipes: Recipe[];
  /** The approval policy in force (`openPolicy`). */
  policy: PolicyHolder;
  /** Lease timing (reminders, grace period, clock), and how often leases are swept (default 1 min). */
  leaseOptions?: LeaseOptions;
  leaseSweepMs?: number;
  /** How often finished runs' VMs are looked for in VergeOS (default 5 min). */
  goneCheckMs?: number;
  /** How often the policy file is checked for changes (default 1 s). */
  policyPollMs?: number;
  /** Web API retries (Bolt's default policy can wait minutes; tests use 0). */
  slackRetries?: number;
  /** How often pending requests are checked for expiry. */
  sweepIntervalMs?: number;
  /** How often runs whose process stopped are looked for (default half the claim time). */
  takeOverMs?: number;
  /** How often old finished records move to the archive while the bot runs (default hourly). */
  archiveEveryMs?: number;
  /** How long drives may import before the thread is told power-on waits (default 60 s). */
  importNoticeMs?: number;
  /** How long a form's pre-flight may take (default 2 s, inside Slack's 3 s). */
  preflightMs?: number;
  /** How long the background re-check of a request waiting for pre-flight may take (default 20 s). */
  waitingPreflightMs?: number;
}

export interface Bot {
  app: App;
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
  /** Expire what is due now and tell everyone (also runs on a timer). */
  sweep(): Promise<void>;
  /** Lease reminders, power-offs and deletions due now, told to owners (also runs on a timer). */
  sweepLeases(): Promise<void>;
  /** Look for the bot's VMs in VergeOS; one deleted outside is marked gone, its owner told (also on a timer). */
  reconcile(): Promise<void>;
  /** Resolves when no run is being reported and no message is queued. */
  idle(): Promise<void>;
}

function boltLogger(logger: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const line = (parts: unknown[]) => parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
  return {
    debug: (...m) => logger.debug({ from: 'bolt' }, line(m)),
    info: (...m) => logger.info({ from: 'bolt' }, line(m)),
    warn: (...m) => logger.warn({ from: 'bolt' }, line(m)),
    error: (...m) => logger.error({ from: 'bolt' }, line(m)),
    setLevel: (l) => (level = l),
    getLevel: () => level,
    setName: () => undefined,
  };
}

export function createBot(options: BotOptions): Bot {
  const { env, logger } = options;
  const clientOptions = {
    ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL.endsWith('/') ? env.SLACK_API_URL : `${env.SLACK_API_URL}/` } : {}),
    ...(options.slackRetries !== undefined ? { retryConfig: { retries: options.slackRetries } } : {}),
  };
  const socketMode = Boolean(env.SLACK_APP_TOKEN);
  // HTTP mode: the bot owns the server, so it can answer the operator's endpoints and, while
  // stopping, 503 to new events; Bolt's receiver handles /slack/events (signatures included).
  const receiver = socketMode
    ? undefined
    : new HTTPReceiver({ signingSecret: env.SLACK_SIGNING_SECRET!, processBeforeResponse: false, logger: boltLogger(logger) });
  const app = socketMode
    ? new App({ token: env.SLACK_BOT_TOKEN!, appToken: env.SLACK_APP_TOKEN!, socketMode: true, clientOptions, logger: boltLogger(logger), convoStore: false })
    : // The bot keeps its state in its own store; Bolt's conversation store is pure overhead.
      new App({ token: env.SLACK_BOT_TOKEN!, receiver: receiver!, clientOptions, logger: boltLogger(logger), convoStore: false });

  const approvers = new Approvers(env.VM_APPROVERS, { logger });
  const slackApi = new SlackWebApi({ token: env.SLACK_BOT_TOKEN!, baseUrl: clientOptions.slackApiUrl, retries: options.slackRetries ?? 2, logger });
  const slack = slackApi;
  const notifier = new Notifier(slack, { rateFactor: env.SLACK_RATE_FACTOR, logger });
  const leases = new Leases({ store: options.store, audit: options.audit, provisioner: options.provisioner }, options.leaseOptions);
  const homeTabs = new HomeTabs({
    slack: slackApi,
    notifier,
    requests: () => requests,
    vmsOf: (user) => options.provisioner.vmsOwnedBy(user),
    approvers,
    logger,
  });
  const requests = new Requests({ store: options.store, audit: options.audit, ttlMs: env.VM_REQUEST_TTL, onChange: (request) => homeTabs.changed(request) });
  const filing = new RequestFiling({
    store: options.store,
    requests,
    vergeos: options.vergeos,
    policy: () => options.policy.current,
    people: (loaded, user) => peopleUnder({ policy: options.policy, approvers, slack: slackApi, env, store: options.store }, loaded, user),
    limits: { maxPending: env.VM_MAX_PENDING_PER_USER, perHour: env.VM_SUBMISSIONS_PER_HOUR },
    recipes: () => options.recipes,
    vmApprovers: env.VM_APPROVERS,
    preflightMs: options.preflightMs ?? 2_000,
  });
  const ctx: BotContext = {
    env,
    logger,
    vergeos: options.vergeos,
    provisioner: options.provisioner,
    requests,
    filing,
    store: options.store,
    recipes: options.recipes,
    approvers,
    requesters: new RequesterGate({
      slack: slackApi,
      requesters: env.VM_REQUESTERS,
      members: (group) => approvers.members(slackApi, group),
      isLead: (user) => approvers.isApprover(slackApi, user),
      logger,
    }),
    policy: options.policy,
    leases,
    homeTabs,
    inventory: new InventoryCache({ vergeos: options.vergeos, logger }),
    notifier,
    afterAck: new AfterAck(),
    slack,
    provisioning: new RequestProvisioning({
      provisioner: options.provisioner,
      requests,
      notifier,
      recipes: options.recipes,
      auditChannel: env.VM_AUDIT_CHANNEL!,
      logger,
      batchConcurrency: env.VM_BATCH_CONCURRENCY,
      leases,
      ...(options.importNoticeMs ? { importNoticeMs: options.importNoticeMs } : {}),
    }),
    approvalChannel: env.VM_APPROVAL_CHANNEL!,
    auditChannel: env.VM_AUDIT_CHANNEL!,
    preflightMs: options.preflightMs ?? 2_000,
  };
  for (const register of [registerGate, registerCommands, registerModal, registerOptions, registerApproval, registerVms, registerHome]) register(app, ctx);

  /**
   * Why the bot can't save now: the store's own failed write, or the one a run paused on — which
   * may be the audit log's, and the store does not see that one (a run's step is saved in memory,
   * then its audit record hits the full disk). Cleared by a probe write that works (`probeWrites`).
   */
  const writeProblem = (): string | undefined => {
    const health = options.store.health();
    const audit = options.audit.health?.() ?? { ok: true };
    return !health.ok ? health.problem : !audit.ok ? audit.problem : ctx.provisioning.unwritable;
  };
  const probeWrites = async (): Promise<string | undefined> => {
    const pausedOn = ctx.provisioning.unwritable;
    const health = await options.store.ping();
    if (!health.ok) return health.problem;
    // The probe wrote to the same place the audit log appends to (DATA_DIR, or the database);
    // a run that paused while it was under way stays told.
    if (ctx.provisioning.unwritable === pausedOn) ctx.provisioning.unwritable = undefined;
    const problem = writeProblem();
    // Audit records a full disk refused after a run's final save: written now, not only when another run goes on.
    if (problem === undefined) await options.provisioner.writeHeldRecords().catch(() => undefined);
    return problem;
  };
  const readiness = new Readiness([
    { name: 'slack', run: async () => void (await slackApi.call('auth.test', {})) },
    { name: 'vergeos', run: async () => void (await options.vergeos.systemInfo()) },
    { name: 'store', run: probeWrites, now: writeProblem },
  ]);
  provideGauges({
    requestsByState: () => {
      // From the state index: nothing is copied or visited.
      return Object.fromEntries(REQUEST_STATES.map((state) => [state, options.store.countRequests('state', state)]));
    },
    pendingSlackWrites: () => notifier.pending,
    runsInFlight: () => options.provisioner.inFlight,
  });
  let stopping = false;
  app.error(async (error) => {
    logger.error({ code: error.code, err: error.message }, 'unhandled error in a Slack listener');
  });

  const sweep = async () => {
    // Requests filed while VergeOS could not be asked: decided now if it answers.
    for (const waiting of requests.inState('waiting_preflight')) {
      const decided = await filing.decideWaiting(waiting.id, options.waitingPreflightMs ?? 20_000).catch((err: unknown) => {
        logger.warn({ requestId: waiting.id, err: (err as Error).message }, 'the pre-flight re-check failed; trying again later');
        return undefined;
      });
      if (decided) await announceFiled(ctx, decided);
    }
    for (const expired of await requests.expireDue()) {
      if (expired.approvalMessage) await notifier.update(expired.approvalMessage, decidedRequest(expired, env.VM_APPROVERS, options.recipes));
      await notifier.post(ctx.auditChannel, auditLine('expired', expired));
      await notifier.dm(expired.requester, requesterUpdate(expired, 'expired: no lead decided in time. Submit it again if you still need it.'));
    }
  };

  /** Work a previous process left: approvals not yet started, runs interrupted, results unreported. */
  const recover = async () => {
    await sweep();
    for (const request of requests.inState('approved')) await ctx.provisioning.startApproved(request, request.decidedBy ?? 'vmbot');
    await takeOver(true);
  };

  /**
   * Runs nobody is working on — their process stopped or died (its claim lapsed) — continued
   * here: at start every one (`atStart`), later those whose claim has been gone a while. Another
   * bot process on the same database does the same; a run's claim lets only one continue it.
   */
  const takeOver = async (atStart = false) => {
    // A store that takes no writes would pause each run again at its first step.
    // Asked of the disk here too: nothing need poll /readyz for a paused run to resume.
    if (writeProblem() !== undefined && (await probeWrites()) !== undefined) return;
    const orphans = new Map<string, RunRecord>();
    for (const run of await options.store.orphanedRuns()) {
      // A run this process paused on a full disk is nobody's (its claim was released): resumed as
      // soon as writes work, not a claim time after its last save as a stopped process's run is.
      const quiet = atStart || options.provisioner.pausedForStore(run.id) || Date.now() - Date.parse(run.updatedAt) > options.provisioner.claimTtlMs;
      if (quiet && !options.provisioner.isExecuting(run.id)) orphans.set(run.id, run);
    }
    for (const request of requests.inState('provisioning')) {
      const runs = options.provisioner.runsForRequest(request.id);
      if (!runs.length || !runs.some((r) => orphans.has(r.id) || atStart)) continue;
      const unfinished = runs.filter((r) => orphans.has(r.id) && (r.state === 'pending' || r.state === 'running'));
      if (!unfinished.length && runs.some((r) => r.state === 'pending' || r.state === 'running')) continue; // another process is on them
      if (!unfinished.length) {
        // Finished, not yet reported; another process may be reporting it right now (then it wins).
        await ctx.provisioning.report(request, runs).catch((err: unknown) => {
          if (!(err instanceof StoreError && err.code === 'STORE_CONFLICT')) throw err;
        });
      } else if (request.batch) {
        const finished = runs.length - unfinished.length;
        ctx.provisioning.resume(
          request,
          unfinished.map((r) => r.id),
          `:arrows_counterclockwise: ${atStart ? 'The bot restarted while provisioning' : unfinished.some((r) => options.provisioner.pausedForStore(r.id)) ? 'The bot can save its records again' : 'The bot process working on this stopped; another one takes over'}: resuming the ${unfinished.length} VMs not yet finished (${finished} were; nothing is created twice).`,
        );
      } else {
        const done = Object.values(runs[0]!.steps).filter((s) => s.status === 'done').length;
        const why = atStart
          ? 'The bot restarted while provisioning'
          : options.provisioner.pausedForStore(runs[0]!.id)
            ? 'The bot can save its records again'
            : 'The bot process working on this stopped; another one takes over';
        ctx.provisioning.resume(request, [runs[0]!.id], `:arrows_counterclockwise: ${why}: resuming after step ${done} (nothing is created twice).`);
      }
    }
    // A decommission or a deletion whose process stopped part-way (a deletion once per request).
    const cleaningUp = [...orphans.values()].filter((r) => r.state === 'cleaning_up');
    for (const run of cleaningUp.filter((r) => r.decommission)) {
      await options.provisioner
        .decommission(run.id, 'vmbot')
        .catch((err: unknown) => logger.warn({ runId: run.id, err: (err as Error).message }, 'resuming a decommission failed'));
    }
    for (const requestId of new Set(cleaningUp.filter((r) => !r.decommission).map((r) => r.requestId))) {
      const request = requestId ? requests.find(requestId) : undefined;
      if (request?.state === 'failed') await ctx.provisioning.cleanup(request, 'vmbot');
    }
  };

  /** One take-over at a time: the timer may fire again while one waits on the disk or the store, and a run must be resumed once. */
  let takingOver: Promise<void> | undefined;
  const takeOverOnce = (): Promise<void> =>
    (takingOver ??= takeOver().finally(() => {
      takingOver = undefined;
    }));

  /**
   * Leases: what is due now, then every notice not yet delivered (also those a previous process
   * recorded and did not send), each removed from the outbox once told to the owner and the
   * audit channel.
   */
  const sweepLeases = async () => {
    await ctx.leases.sweep();
    for (const { noticeId, event } of ctx.leases.outbox()) {
      const owner = event.run.owner ?? event.run.actor;
      const notice = leaseNotice(event, ctx.leases.graceMs);
      if (/^[UW][A-Z0-9]+$/.test(owner)) await notifier.dm(owner, notice);
      if (event.type === 'expired' || event.type === 'deleted') {
        const [emoji, what] =
          event.type === 'expired' ? [':hourglass:', 'powered off at the end of its lease'] : [':wastebasket:', 'deleted at the end of its lease'];
        const line = `${emoji} *${escapeText(event.run.spec.vm.name)}* ${what} · VM key ${event.run.keys.vmKey} / machine key ${event.run.keys.machineKey} · owner <@${owner}>${event.run.requestId ? ` · ${event.run.requestId}` : ''}`;
        await notifier.post(ctx.auditChannel, say(line));
      }
      await ctx.leases.delivered(event.run.id, noticeId);
      homeTabs.vmChanged(event.run);
    }
  };

  // VMs deleted outside the bot stop counting against quotas once noticed.
  const noticeGone = async () => {
    for (const run of await options.provisioner.noticeDeletedVms()) {
      homeTabs.vmChanged(run);
      const owner = run.owner ?? run.actor;
      const line = `:ghost: *${escapeText(run.spec.vm.name)}* was deleted outside the bot · VM key ${run.keys.vmKey} / machine key ${run.keys.machineKey} · owner ${/^[UW]/.test(owner) ? `<@${owner}>` : escapeText(owner)}${run.requestId ? ` · ${run.requestId}` : ''}`;
      await notifier.post(ctx.auditChannel, say(line));
      if (/^[UW][A-Z0-9]+$/.test(owner))
        await notifier.dm(owner, {
          text: `Your VM ${run.spec.vm.name} was deleted outside the bot; it no longer counts against your quota.`,
          blocks: [
            {
              type: 'section',
              text: {
                type: 'mrkdwn',
                text: `:ghost: Your VM *${escapeText(run.spec.vm.name)}* (VM key ${run.keys.vmKey}) was deleted outside the bot; it no longer counts against your quota.`,
              },
            },
          ],
        });
    }
  };

  let timer: NodeJS.Timeout | undefined;
  let goneTimer: NodeJS.Timeout | undefined;
  let leaseTimer: NodeJS.Timeout | undefined;
  let takeOverTimer: NodeJS.Timeout | undefined;
  let archiveTimer: NodeJS.Timeout | undefined;
  let server: Server | undefined;
  let healthServer: Server | undefined;
  return {
    app,
    ctx,
    readiness,
    sweep,
    sweepLeases,
    reconcile: noticeGone,
    async start(port) {
      let healthPort: number | undefined;
      if (socketMode) {
        await app.start();
        if (env.HEALTH_PORT !== undefined) ({ server: healthServer, port: healthPort } = await opsServer(env.HEALTH_PORT, readiness));
      } else {
        server = createServer((req, res) => {
          if (handleOps(req, res, readiness)) return;
          if (stopping) {
            res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' }).end(JSON.stringify({ ok: false, error: 'shutting down' }));
            return;
          }
          if (refuseFutureTimestamp(req, res, logger)) return;
          try {
            receiver!.requestListener(req, res);
          } catch {
            // Bolt throws for a path it does not serve.
            if (!res.headersSent) res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: 'not found' }));
          }
        });
        await new Promise<void>((resolve, reject) => {
          server!.once('error', reject);
          server!.listen(port ?? env.PORT, () => resolve());
        });
      }
      readiness.start();
      ctx.inventory.warm();
      options.policy.watch(options.policyPollMs);
      // A refused policy edit leaves the bot working under the last good policy: ready, with the why.
      readiness.warnWhen('policy', () => options.policy.status());
      // Background sweeps run in one bot process at a time (the store elects it); any process may
      // take over a run whose process stopped.
      const led = (work: () => Promise<void>) => async () => {
        if (!stopping && (await options.store.leads())) await work();
      };
      timer = setInterval(
        () => void led(sweep)().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'expiry sweep failed')),
        options.sweepIntervalMs ?? 30_000,
      );
      timer.unref();
      goneTimer = setInterval(
        () => void led(noticeGone)().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'checking for VMs deleted outside the bot failed')),
        options.goneCheckMs ?? 5 * 60_000,
      );
      goneTimer.unref();
      leaseTimer = setInterval(
        () => void led(sweepLeases)().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'lease sweep failed')),
        options.leaseSweepMs ?? 60_000,
      );
      leaseTimer.unref();
      takeOverTimer = setInterval(
        () =>
          void (stopping ? Promise.resolve() : takeOverOnce()).catch((err: unknown) =>
            logger.error({ err: (err as Error).message }, 'taking over stopped runs failed'),
          ),
        options.takeOverMs ?? Math.max(1_000, Math.floor(options.provisioner.claimTtlMs / 2)),
      );
      takeOverTimer.unref();
      const archive = async () => {
        const moved = await options.store.archiveOld();
        if (moved) logger.info({ moved }, 'moved old finished records to the archive');
      };
      archiveTimer = setInterval(
        () => void led(archive)().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'archiving failed')),
        options.archiveEveryMs ?? 3_600_000,
      );
      archiveTimer.unref();
      await recover();
      // Lease notices a previous process recorded and did not deliver.
      await sweepLeases().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'lease sweep failed'));
      return { port: server ? (server.address() as AddressInfo).port : undefined, healthPort };
    },
    async stop(stopOptions = {}) {
      stopping = true;
      readiness.stop();
      if (timer) clearInterval(timer);
      if (goneTimer) clearInterval(goneTimer);
      if (leaseTimer) clearInterval(leaseTimer);
      if (takeOverTimer) clearInterval(takeOverTimer);
      if (archiveTimer) clearInterval(archiveTimer);
      homeTabs.stop();
      options.policy.stop();
      // Socket Mode: disconnect, so Slack hands new envelopes to the other connections.
      if (socketMode) await app.stop();
      await options.provisioner.stop();
      await ctx.provisioning.idle();
      const flush = stopOptions.flushSlackMs ?? 5_000;
      let flushTimer: NodeJS.Timeout | undefined;
      await Promise.race([notifier.idle(), new Promise((r) => (flushTimer = setTimeout(r, flush)))]);
      clearTimeout(flushTimer);
      if (server) await closeServer(server);
      if (healthServer) await closeServer(healthServer);
      await slack.close();
    },
    async idle() {
      await ctx.provisioning.idle();
      await notifier.idle();
    },
  };
}

/** The policy file the environment names (POLICY_FILE, else MANIFESTS_DIR/policy.yml, which may be absent). */
export function openPolicy(env: Env, logger?: Logger): Promise<PolicyHolder> {
  return PolicyHolderClass.open(env.POLICY_FILE ?? join(env.MANIFESTS_DIR, 'policy.yml'), { optional: env.POLICY_FILE === undefined, logger });
}
