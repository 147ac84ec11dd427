/** What every listener can reach. Built once in wire.ts. */
import type { Env } from '../config.js';
import type { Logger } from '../log.js';
import type { PolicyHolder } from '../policy/watch.js';
import type { Leases } from '../leases/leases.js';
import type { Provisioner } from '../provision/provisioner.js';
import type { Requests } from '../requests/requests.js';
import type { Store } from '../store/store.js';
import type { Recipe } from '../vmspec/recipes.js';
import type { VergeosApi } from '../vergeos/client.js';
import type { RequestExecution } from '../workflows/execute-request.js';
import type { RequestFiling } from '../workflows/file-request.js';
import type { VmActions } from '../workflows/vm-actions.js';
import type { VmChanges } from '../workflows/vm-changes.js';
import type { VmClones } from '../workflows/clone-vm.js';
import type { AfterAck } from './after-ack.js';
import type { Approvers } from './approvers.js';
import type { HomeTabs } from './home-tabs.js';
import type { InventoryCache } from './inventory.js';
import type { Notifier } from './notifier.js';
import type { RequesterGate } from './requesters.js';
import type { SlackWebApi } from './web-api.js';

export interface BotContext {
  env: Env;
  logger: Logger;
  vergeos: VergeosApi;
  provisioner: Provisioner;
  requests: Requests;
  /** Filing requests (limits, pre-flight, policy, reservations): the core workflow. */
  filing: RequestFiling;
  /** Executing approved requests (retry, cleanup, resume): the core workflow; the thread observes it. */
  execution: RequestExecution;
  /** Day-2 actions on the bot's VMs (power, extend, delete): the core workflow. */
  vms: VmActions;
  /** Changes to them (resize, drives, NICs, snapshots): pre-flight, the policy, exactly once. */
  changes: VmChanges;
  /** Copies of them ("Another like this"): filed as new VMs under the policy. */
  clones: VmClones;
  /** For what the core does not wrap (archived records). */
  store: Store;
  recipes: Recipe[];
  approvers: Approvers;
  /** Who may request VMs (VM_REQUESTERS, no guests, no other organizations). */
  requesters: RequesterGate;
  /** Leases on the VMs the bot made (reminders, power-off, deletion). */
  leases: Leases;
  /** The approval policy in force (reloaded when its file changes). */
  policy: PolicyHolder;
  inventory: InventoryCache;
  homeTabs: HomeTabs;
  notifier: Notifier;
  /** Starts follow-up work one piece per event-loop turn, so a burst's acks go first. */
  afterAck: AfterAck;
  /** Sending to Slack (Bolt only receives). */
  slack: SlackWebApi;
  approvalChannel: string;
  auditChannel: string;
  /** How long pre-flight checks may take inside the 3 s a view submission has. */
  preflightMs: number;
}
