/**
 * Everything a user can type: commands, arguments, options and help. Kept free of the modules
 * that do the work (each command's module is imported when it runs), so `vmbot --help` and a
 * mistyped flag answer at once.
 */
import type { Command } from 'commander';
import {
  dateOf,
  durationOf,
  parseConcurrency,
  parseCount,
  parseFactor,
  parseAddressMs,
  parseImportMs,
  parseLatencyMs,
  parseMargin,
  parsePort,
} from './parse.js';
import { SLACK_SIM, SLACK_SIM_SIGNING_SECRET } from '../sim/slack-constants.js';
import { parseCores, parseExpires } from './change-flags.js';

/** An action that imports its module when it runs. */
function lazy<M extends Record<string, unknown>>(load: () => Promise<M>, name: keyof M & string): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const run = (await load())[name] as (...a: unknown[]) => Promise<void>;
    // commander passes the Command itself last; the actions take only arguments and options.
    await run(...args.slice(0, -1));
  };
}

export function registerCommands(program: Command): void {
  program
    .command('start')
    .description('run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP on PORT at /slack/events)')
    .action(lazy(() => import('./start.js'), 'startCommand'));

  program
    .command('validate')
    .description('check recipe files (default: every recipe in MANIFESTS_DIR)')
    .argument('[files...]', 'recipe files')
    .action(lazy(() => import('./validate.js'), 'validateCommand'));

  program
    .command('recipes')
    .description(
      "list what can be asked for: the YAML recipes in MANIFESTS_DIR and, with VERGEOS_URL, VergeOS's own downloaded VM recipes (VERGEOS_RECIPE_CATALOGS: only those catalogs)",
    )
    .option('--json', 'one JSON object: {recipes: [{source, name, title, catalog, version, ref}]}')
    .action(lazy(() => import('./recipes.js'), 'recipesCommand'));

  program
    .command('plan')
    .description('print the ordered VergeOS API calls a recipe would make (no network)')
    .argument('<file>', 'recipe file')
    .option('--name <name>', 'VM name (or pattern with {n} for --count)')
    .option('--count <k>', 'how many VMs', parseCount, 1)
    .option('--json', 'print the exact request bodies as JSON (secrets as ***)')
    .action(lazy(() => import('./plan.js'), 'planCommand'));

  program
    .command('apply')
    .description('provision VMs from a recipe directly against VERGEOS_URL')
    .argument('<file>', 'recipe file')
    .option('--name <name>', 'VM name (or pattern with {n} for --count, e.g. web-{n})')
    .option('--count <k>', 'how many VMs: one batch, checked as a whole before anything is created', parseCount, 1)
    .option('--concurrency <c>', 'VMs provisioned at once with --count', parseConcurrency, 4)
    .option('--keep-going', 'with --count: start every VM even after a failure that would repeat for all (tier full, credentials, …)')
    .option('--tier-margin <percent>', "share of each storage tier's capacity to keep free", parseMargin, 5)
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print exactly one JSON object with the result on stdout')
    .action(lazy(() => import('./apply.js'), 'applyCommand'));

  program
    .command('runs')
    .description('list provisioning runs and their state')
    .option('--json', 'as JSON')
    .option('--all', 'include archived runs (finished over 30 days ago)')
    .action(lazy(() => import('./runs.js'), 'runsCommand'));

  program
    .command('resume')
    .description('continue an interrupted or failed run from where it stopped (nothing is created twice)')
    .argument('[run]', 'run id')
    .option('--all', 'every run that was interrupted (state running)')
    .option('--batch <id>', "a batch's failed and not-started VMs, as a batch again (stops on a failure that would repeat)")
    .option('--concurrency <c>', 'VMs at once with --batch', parseConcurrency, 4)
    .option('--json', 'print the result(s) as one JSON object')
    .action(lazy(() => import('./runs.js'), 'resumeCommand'));

  program
    .command('cleanup')
    .description("delete failed runs' partial VMs (stopped first if running) with their drives, NICs and devices")
    .argument('[run]', 'run id')
    .option('--batch <id>', 'every failed or not-started VM of this batch')
    .option('--all-failed', 'every failed or not-started run')
    .option('--concurrency <c>', 'deletions at once', parseConcurrency, 4)
    .option('--yes', 'do not ask for confirmation')
    .action(lazy(() => import('./runs.js'), 'cleanupCommand'));

  program
    .command('vms')
    .description('list the VMs made through the bot, with owner and keys')
    .option('--owner <user>', "only this owner's (a Slack user id, or cli:<user>)")
    .option('--refresh', 'look each one up in VergeOS: live power state; a VM deleted outside the bot is marked gone')
    .option('--expiring <duration>', 'only those whose lease ends within this (e.g. 7d)', durationOf('--expiring'))
    .option('--all', 'also the VMs deleted outside the bot (marked gone)')
    .option('--json', 'as JSON')
    .action(lazy(() => import('./vms.js'), 'vmsCommand'));

  program
    .command('transfer')
    .description('hand a VM to another owner')
    .argument('<vm>', 'VM name or VM key')
    .requiredOption('--to <user>', 'the new owner (a Slack user id)')
    .action(lazy(() => import('./vms.js'), 'transferCommand'));

  program
    .command('extend')
    .description("move the end of a VM's lease (the new end within its maximum from now)")
    .argument('<vm>', 'VM name or VM key')
    .option('--for <duration>', 'add this to the current end, e.g. 7d', durationOf('--for'))
    .option('--until <date>', 'set the end to this date, e.g. 2026-12-31', dateOf('--until'))
    .option('--set-lease', 'give a VM kept until deleted a lease (it is powered off at its end and deleted 3 days later); --for then counts from now')
    .action(lazy(() => import('./vms.js'), 'extendCommand'));

  program
    .command('decommission')
    .description('delete a VM made through the bot, with its drives, NICs and devices (stopped first if running)')
    .argument('<vm>', 'VM name or VM key')
    .option('--yes', 'do not ask for confirmation')
    .action(lazy(() => import('./vms.js'), 'decommissionCommand'));

  // Day-2 changes: the operator's tool, as `vmbot apply` is (pre-flight, then applied; not the approval policy).
  const operators = "the operator's tool, like apply: checked by pre-flight, not sent through the approval policy; audited";
  program
    .command('resize')
    .description(`change a VM's cores and RAM (PUT /vms/KEY); a running VM takes the new size at its next power cycle (${operators})`)
    .argument('<vm>', 'VM name or VM key')
    .option('--cpu <n>', 'vCPU cores (left out: as it is)', parseCores)
    .option('--ram <size>', 'RAM, e.g. 16GiB (a bare number is MB; rounded up to 256 MB; left out: as it is)')
    .option('--restart', 'if it runs, power-cycle it gracefully so the new size takes effect now')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print exactly one JSON object with the result on stdout')
    .action(lazy(() => import('./changes.js'), 'resizeCommand'));

  const disk = program.command('disk').description('add a drive to a VM, or grow one of its disks');
  disk
    .command('add')
    .description(`add a new disk (--size) or a CD-ROM from a media file (--cdrom) to a VM (${operators})`)
    .argument('<vm>', 'VM name or VM key')
    .option('--size <size>', 'a new disk of this size, e.g. 50GiB (a bare number is bytes)')
    .option('--tier <n>', 'storage tier of the new disk (1-5; default 1)')
    .option('--cdrom <media>', 'a CD-ROM from this media file (its key)')
    .option('--name <name>', 'drive name (default disk-N or cdrom-N, one the VM does not have)')
    .option('--interface <i>', 'drive interface (default virtio-scsi for a disk, ahci for a CD-ROM)')
    .option('--json', 'print exactly one JSON object with the result on stdout')
    .action(lazy(() => import('./changes.js'), 'diskAddCommand'));
  disk
    .command('grow')
    .description(`grow a VM's disk to a new size; a disk only grows (${operators})`)
    .argument('<vm>', 'VM name or VM key')
    .argument('<drive>', 'drive name')
    .requiredOption('--to <size>', 'its new size, more than it has, e.g. 200GiB (a bare number is bytes)')
    .option('--json', 'print exactly one JSON object with the result on stdout')
    .action(lazy(() => import('./changes.js'), 'diskGrowCommand'));

  program
    .command('nic')
    .description('add a NIC to a VM')
    .command('add')
    .description(`add a NIC on a network to a VM (${operators})`)
    .argument('<vm>', 'VM name or VM key')
    .requiredOption('--vnet <key>', 'the network (its key)')
    .option('--name <name>', 'NIC name (default nic-N, one the VM does not have)')
    .option('--interface <i>', 'NIC interface (default virtio)')
    .option('--ip <address>', 'a static IP address (default: the network gives one)')
    .option('--json', 'print exactly one JSON object with the result on stdout')
    .action(lazy(() => import('./changes.js'), 'nicAddCommand'));

  const snapshot = program.command('snapshot').description("a VM's snapshots: take, list, restore in place, delete");
  snapshot
    .command('create')
    .description(`take a snapshot of a VM (${operators})`)
    .argument('<vm>', 'VM name or VM key')
    .option('--name <name>', 'snapshot name (default VM-yyyymmdd-hhmm, UTC)')
    .option('--expires <duration>', 'how long it is kept, e.g. 7d, or never (default 24h)', parseExpires)
    .option('--quiesce', "ask the guest agent to flush the guest's writes first")
    .option('--json', 'print exactly one JSON object with the result on stdout')
    .action(lazy(() => import('./snapshots.js'), 'snapshotCreateCommand'));
  snapshot
    .command('list')
    .description("list a VM's snapshots, newest first: name, key, when taken, when it expires, quiesced")
    .argument('<vm>', 'VM name or VM key')
    .option('--json', 'as a JSON array')
    .action(lazy(() => import('./snapshots.js'), 'snapshotListCommand'));
  snapshot
    .command('restore')
    .description(`revert a VM in place to a snapshot: everything written since it was taken is lost; the VM must be off (${operators})`)
    .argument('<vm>', 'VM name or VM key')
    .argument('<snapshot>', 'snapshot name or key')
    .option('--power-off', 'if the VM runs, power it off first (else a running VM is refused)')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print exactly one JSON object with the result on stdout')
    .action(lazy(() => import('./snapshots.js'), 'snapshotRestoreCommand'));
  snapshot
    .command('delete')
    .description(`delete a snapshot of a VM (${operators})`)
    .argument('<vm>', 'VM name or VM key')
    .argument('<snapshot>', 'snapshot name or key')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print exactly one JSON object with the result on stdout')
    .action(lazy(() => import('./snapshots.js'), 'snapshotDeleteCommand'));

  program
    .command('clone')
    .description(
      "copy a VM the bot made as a new VM of yours, with its own lease (the operator's tool, like apply: checked by pre-flight, not sent through the approval policy; audited)",
    )
    .argument('<vm>', 'VM name or VM key')
    .requiredOption('--name <name>', 'the new VM name')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print exactly one JSON object with the result on stdout')
    .action(lazy(() => import('./clone.js'), 'cloneCommand'));

  const audit = program
    .command('audit')
    .description('export the audit log (JSON lines by default)')
    .option('--json', 'one JSON array')
    .option('--csv', 'CSV with a header row')
    .option('--since <date>', 'only records at or after this date/time (e.g. 2026-11-01)')
    .action(lazy(() => import('./audit.js'), 'auditCommand'));

  audit
    .command('verify')
    .description('check the hash chain: exit 1 and name the first line that was changed, removed or moved')
    .action(lazy(() => import('./audit.js'), 'verifyCommand'));

  const policy = program.command('policy').description('the approval policy: check it, explain a decision');

  policy
    .command('check')
    .description('validate the policy file (default: POLICY_FILE, else MANIFESTS_DIR/policy.yml); exit 2 naming every problem as file:line: field: message')
    .argument('[file]', 'policy file')
    .action(lazy(() => import('./policy.js'), 'checkCommand'));

  policy
    .command('explain')
    .description('which rule decides a request, why the earlier ones did not, and the quota use after it')
    .argument('<recipe>', 'recipe id (from MANIFESTS_DIR) or file')
    .requiredOption('--as <user>', 'the requester (Slack user id)')
    .option('--group <ids...>', "the requester's Slack user groups (S…)", [])
    .option('--count <k>', 'how many VMs', parseCount, 1)
    .option('--name <name>', 'VM name or pattern', 'explain-{n}')
    .option('--file <policy>', 'policy file (default: the one in force)')
    .action(lazy(() => import('./policy.js'), 'explainCommand'));

  const store = program.command('store').description('the store: repair the embedded one, or copy it into PostgreSQL');
  store
    .command('repair')
    .description(
      "mend DATA_DIR's journals, archive and audit log after damage: keeps every intact record, sets damaged lines aside and says which (stop the bot first)",
    )
    .action(lazy(() => import('./store-repair.js'), 'storeRepairCommand'));
  store
    .command('migrate')
    .description('copy a DATA_DIR (requests, runs, archive, REQ numbers, the audit log with its hashes) into an empty PostgreSQL database')
    .requiredOption('--from <dir>', 'the DATA_DIR to copy (read only; stop the bot first)')
    .option('--to <url>', 'postgres://… (default: DATABASE_URL)')
    .action(lazy(() => import('./store.js'), 'storeMigrateCommand'));

  program
    .command('sim')
    .description('run the VergeOS simulator on loopback (for trying the bot, tests and benchmarks)')
    .option('-p, --port <n>', 'port to listen on (0 = any free port)', parsePort, 8444)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--import-ms <ms>', 'how long import drives stay "importing"', parseImportMs, 2000)
    .option('--latency-ms <ms>', 'latency added to every API call', parseLatencyMs, 0)
    .option('--address-ms <ms>', 'how long after power-on (or after a NIC is added to a running VM) its address is reported (default 3000)', parseAddressMs)
    .action(lazy(() => import('./sim.js'), 'simCommand'));

  program
    .command('slack-sim')
    .description('run the Slack Web API stand-in on loopback (point the bot at it with SLACK_API_URL)')
    .option('-p, --port <n>', 'port to listen on (0 = any free port)', parsePort, 8455)
    .option('--rate-factor <x>', "enforce Slack's rate limits this many times faster (the bot's SLACK_RATE_FACTOR must match)", parseFactor, 1)
    .option('--no-rate-limits', "do not enforce Slack's rate limits at all")
    .action(lazy(() => import('./sim.js'), 'slackSimCommand'));

  program
    .command('slack-send')
    .description('send the bot a signed `/vm-create TEXT` as Slack would (for exploring a running demo by hand)')
    .requiredOption('--bot <url>', 'the bot, e.g. http://127.0.0.1:3000')
    .requiredOption('--slack <url>', 'the Slack stand-in SLACK_API_URL (it issues the trigger id)')
    .option('--user <id>', 'who types it', SLACK_SIM.requester)
    .option('--secret <s>', 'signing secret', SLACK_SIM_SIGNING_SECRET)
    .option('--curl', 'print a signed curl command (valid for 5 minutes) instead of sending')
    .argument('[text...]', 'what follows /vm-create')
    .action(lazy(() => import('./sim.js'), 'slackSendCommand'));
}
