/**
 * The core, wired once: the provisioner, requests, leases and the workflows (filing, execution,
 * recovery, sweeps), over the store, audit log and VergeOS client the caller opened. `vmbot
 * start` (through `createBot`), every CLI command, the tests and the demo build it here, so a
 * new part is wired in one place. Nothing here knows Slack: who someone is under the policy
 * (`people`) and who shows what happens (observers) are handed in by the edge.
 */
import type { Env } from './config.js';
import { Leases, type LeaseOptions } from './leases/leases.js';
import type { Logger } from './log.js';
import { builtinPolicy, type LoadedPolicy } from './policy/load.js';
import { isIn } from './policy/members.js';
import type { PolicyHolder } from './policy/watch.js';
import { Provisioner, type ProvisionerOptions } from './provision/provisioner.js';
import { Requests } from './requests/requests.js';
import type { AuditLog } from './store/audit.js';
import type { Store } from './store/store.js';
import type { VergeosApi } from './vergeos/client.js';
import { InventoryCachingVergeos } from './vergeos/inventory-cache.js';
import type { Recipe } from './vmspec/recipes.js';
import type { People } from './workflows/decide.js';
import { VmClones } from './workflows/clone-vm.js';
import { RequestExecution } from './workflows/execute-request.js';
import { RequestFiling } from './workflows/file-request.js';
import { Recovery } from './workflows/recover.js';
import { Sweeps } from './workflows/sweeps.js';
import { VmActions } from './workflows/vm-actions.js';
import { VmAddresses } from './workflows/vm-addresses.js';
import { VmChanges } from './workflows/vm-changes.js';
import { WriteHealth } from './workflows/write-health.js';

/** What the caller opened (and closes): configuration, log, storage and VergeOS. */
export interface Resources {
  env: Env;
  logger: Logger;
  store: Store;
  audit: AuditLog;
  vergeos: VergeosApi;
}

export interface ComposeOptions {
  recipes?: Recipe[] | undefined;
  /** The approval policy in force (a watched file); without one, the built-in default. */
  policy?: PolicyHolder | undefined;
  /** Who `user` is under `policy` (their groups). Default: as the policy file names them (no directory to ask). */
  people?: ((policy: LoadedPolicy, user: string) => Promise<People>) | undefined;
  /** Provisioner timing (tests poll fast); the rest from the environment. */
  provisioner?: Pick<ProvisionerOptions, 'importPoll' | 'stopTimeoutMs' | 'pollMs' | 'claimTtlMs'> | undefined;
  leaseOptions?: LeaseOptions | undefined;
  /** How long a form's pre-flight may take (default 2 s, inside Slack's 3 s). */
  preflightMs?: number | undefined;
  /** The clock the polling of new VMs' addresses runs on (tests move it). */
  now?: (() => number) | undefined;
}

export interface Core extends Resources {
  recipes: Recipe[];
  policy: PolicyHolder | undefined;
  provisioner: Provisioner;
  requests: Requests;
  leases: Leases;
  filing: RequestFiling;
  execution: RequestExecution;
  recovery: Recovery;
  sweeps: Sweeps;
  writeHealth: WriteHealth;
  /** Day-2 actions on the VMs the bot made. */
  vms: VmActions;
  /** Changes to them (resize, drives, NICs, snapshots): pre-flight, the policy, exactly once. */
  changes: VmChanges;
  /** Copies of them ("Another like this", `vmbot clone`): new VMs, filed and made as creations are. */
  clones: VmClones;
  /** Their addresses as VergeOS reports them (many VMs in one call: `readMany`). */
  addresses: VmAddresses;
}

/** Membership as the policy file names it: user ids and the policy's own groups, no directory lookups. */
export function peopleByPolicy(vmApprovers: readonly string[]): (policy: LoadedPolicy, user: string) => Promise<People> {
  const who = (user: string) => ({ user, slackGroups: new Set<string>(), vmApprovers });
  return async (loaded, user) => ({ who: who(user), has: (ref, actor) => isIn(loaded.policy, ref, who(actor)) });
}

export function compose(resources: Resources, options: ComposeOptions = {}): Core {
  const { env, logger, store, audit } = resources;
  // One cache of inventory lists for the whole core: the form, pre-flight and the options share it.
  const vergeos = new InventoryCachingVergeos(resources.vergeos, { ttlMs: env.VERGEOS_INVENTORY_TTL });
  const recipes = options.recipes ?? [];
  const provisioner = new Provisioner({
    // A run's check before its first POST (device groups still as approved) reads VergeOS as it is now.
    vergeos: vergeos.asOfNow(),
    store,
    audit,
    logger,
    importPoll: { intervalMs: env.VMBOT_POLL_INTERVAL, timeoutMs: 30 * 60_000 },
    pollMs: env.VMBOT_POLL_INTERVAL,
    claimTtlMs: env.RUN_CLAIM_TTL,
    ...options.provisioner,
  });
  const requests = new Requests({ store, audit, ttlMs: env.VM_REQUEST_TTL });
  const leases = new Leases({ store, audit, provisioner }, options.leaseOptions);
  const policyNow = () => options.policy?.current ?? builtinPolicy();
  const filing = new RequestFiling({
    store,
    requests,
    vergeos,
    policy: policyNow,
    people: options.people ?? peopleByPolicy(env.VM_APPROVERS),
    limits: { maxPending: env.VM_MAX_PENDING_PER_USER, perHour: env.VM_SUBMISSIONS_PER_HOUR },
    recipes: () => recipes,
    preflightMs: options.preflightMs ?? 2_000,
  });
  const people = options.people ?? peopleByPolicy(env.VM_APPROVERS);
  const changes = new VmChanges({ store, provisioner, requests, vergeos, policy: policyNow, people, logger });
  const execution = new RequestExecution({ provisioner, requests, leases, changes, logger, batchConcurrency: env.VM_BATCH_CONCURRENCY });
  const writeHealth = new WriteHealth({ store, audit, provisioner, execution });
  const recovery = new Recovery({ store, requests, provisioner, execution, changes, writeHealth, logger });
  const addresses = new VmAddresses({ store, vergeos, ...(options.now ? { now: options.now } : {}) });
  const sweeps = new Sweeps({ requests, filing, leases, provisioner, addresses, logger });
  const vms = new VmActions({ provisioner, leases, requests, addresses });
  const clones = new VmClones({ store, provisioner, filing, vergeos, recipes: () => recipes });
  return {
    ...resources,
    vergeos,
    recipes,
    policy: options.policy,
    provisioner,
    requests,
    leases,
    filing,
    execution,
    recovery,
    sweeps,
    writeHealth,
    vms,
    changes,
    clones,
    addresses,
  };
}
