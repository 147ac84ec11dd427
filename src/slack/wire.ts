/**
 * The Slack edge's parts around the core: the Web API client, leads and requesters, App Home,
 * the paced notifier, the inventory cache and the thread observers (requests, changes) — gathered into the
 * `BotContext` every listener reads. The core's observers are pointed at Slack here.
 */
import type { Core } from '../compose.js';
import type { PolicyHolder } from '../policy/watch.js';
import { AfterAck } from './after-ack.js';
import { ChangeThreads } from './change-threads.js';
import type { Approvers } from './approvers.js';
import type { BotContext } from './context.js';
import { HomeTabs } from './home-tabs.js';
import { InventoryCache } from './inventory.js';
import { SlackNotices } from './notices.js';
import { Notifier } from './notifier.js';
import { RequestThreads } from './request-threads.js';
import { RequesterGate } from './requesters.js';
import type { SlackWebApi } from './web-api.js';

export interface SlackParts {
  slack: SlackWebApi;
  approvers: Approvers;
  policy: PolicyHolder;
  /** After this long importing, the thread is told power-on waits for it. */
  importNoticeMs?: number | undefined;
  preflightMs?: number | undefined;
}

/** What listeners read of the core: its workflows, reads and configuration. */
export function coreForListeners(
  core: Core,
): Pick<
  BotContext,
  'env' | 'logger' | 'vergeos' | 'provisioner' | 'requests' | 'filing' | 'execution' | 'vms' | 'changes' | 'clones' | 'store' | 'recipes' | 'leases'
> {
  const { env, logger, vergeos, provisioner, requests, filing, execution, vms, changes, clones, store, recipes, leases } = core;
  return { env, logger, vergeos, provisioner, requests, filing, execution, vms, changes, clones, store, recipes, leases };
}

export function wireSlack(core: Core, parts: SlackParts): BotContext {
  const { env, logger } = core;
  const { slack, approvers } = parts;
  const notifier = new Notifier(slack, { rateFactor: env.SLACK_RATE_FACTOR, logger });
  const homeTabs = new HomeTabs({ slack, notifier, requests: () => core.requests, vmsOf: (user) => core.provisioner.vmsOwnedBy(user), approvers, logger });
  core.requests.onChange((request) => homeTabs.changed(request));
  const ctx: BotContext = {
    ...coreForListeners(core),
    approvers,
    requesters: new RequesterGate({
      slack,
      requesters: env.VM_REQUESTERS,
      members: (group) => approvers.members(slack, group),
      isLead: (user) => approvers.isApprover(slack, user),
      logger,
    }),
    policy: parts.policy,
    homeTabs,
    inventory: new InventoryCache({ vergeos: core.vergeos, logger }),
    notifier,
    afterAck: new AfterAck(),
    slack,
    approvalChannel: env.VM_APPROVAL_CHANNEL!,
    auditChannel: env.VM_AUDIT_CHANNEL!,
    preflightMs: parts.preflightMs ?? 2_000,
  };
  core.execution.observe(
    new RequestThreads({
      provisioner: core.provisioner,
      requests: core.requests,
      notifier,
      auditChannel: ctx.auditChannel,
      recipes: core.recipes,
      importNoticeMs: parts.importNoticeMs,
      vergeosUrl: env.VERGEOS_URL,
    }),
  );
  core.changes.observe(
    new ChangeThreads({
      requests: core.requests,
      notifier,
      auditChannel: ctx.auditChannel,
      vmApprovers: env.VM_APPROVERS,
      recipes: core.recipes,
      homeTabs,
    }),
  );
  core.sweeps.observe(new SlackNotices(ctx));
  return ctx;
}
