/**
 * A year of history in a DATA_DIR, made through the store's and the audit log's own API: `count`
 * requests spread evenly over the past 365 days, each with the records a real one leaves — its
 * run (steps done, keys) and 11 audit records — and archived as a running bot does (every
 * simulated day, records finished more than 30 days ago move to `archive.jsonl`).
 *
 * The mix: 8% rejected, 4% expired, 2% cancelled, 3% failed and cleaned up; the rest provisioned
 * with a 14-day lease (decommissioned when it ended), except 2% kept until deleted. So the working
 * set is the last month's requests plus the VMs still alive, as in a team's store after a year.
 *
 *   tsx bench/history.ts DATA_DIR COUNT
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planSpec } from '../src/plan/plan.js';
import type { AuditEvent } from '../src/store/audit.js';
import { FileAuditLog } from '../src/store/audit-file.js';
import { LowdbStore } from '../src/store/lowdb.js';
import type { RequestRecord, RunRecord } from '../src/store/records.js';
import { vmRecordFromRun } from '../src/store/vms-from-runs.js';
import { loadRecipes, recipeFilesIn } from '../src/vmspec/recipes.js';
import { vmSpecSchema, type VmSpec } from '../src/vmspec/schema.js';

const DAY = 86_400_000;
const YEAR = 365 * DAY;
const LEASE = 14 * DAY;
const GRACE = 3 * DAY;
const REMIND_BEFORE = [3 * DAY, DAY];
/** Where in the year the archived requests returned are (fractions of the history). */
const ARCHIVED_SAMPLES = [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65];
const MANIFESTS = fileURLToPath(new URL('../manifests', import.meta.url));
/** Requesters of the history (none of them the bench's own users). */
export const HISTORY_USERS = Array.from({ length: 40 }, (_, i) => `U0HIST${String(i).padStart(2, '0')}`);
const LEADS = ['U0HISTLEAD1', 'U0HISTLEAD2'];

export interface History {
  /** The newest request (decided, in the working set). */
  recent: string;
  /** Requests from two to eleven months ago (in the archive), spread over it. */
  archived: string[];
  /** Records left in vmbot.json. */
  workingSet: { requests: number; runs: number };
}

/** A fraction in [0, 1) fixed by `i` (the same history every time). */
function fraction(i: number, salt: number): number {
  const x = Math.sin(i * 12.9898 + salt * 78.233) * 43758.5453;
  return x - Math.floor(x);
}

export async function generateHistory(dataDir: string, count: number, now = Date.now()): Promise<History> {
  const { recipes } = await loadRecipes(await recipeFilesIn(MANIFESTS));
  const pool = ['web-server', 'cloud-image', 'enterprise-cloudinit', 'gpu-workstation'].map((id) => recipes.find((r) => r.id === id)!);
  const store = await LowdbStore.open(dataDir);
  const audit = await FileAuditLog.open(dataDir);
  const start = now - YEAR;
  let lastDay = 0;
  let recent = '';
  const archived: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const created = start + Math.floor((i * YEAR) / count);
      const iso = (t: number) => new Date(Math.min(t, now)).toISOString(); // what has happened
      const future = (t: number) => new Date(t).toISOString(); // when something ends
      const recipe = pool[i % pool.length]!;
      const name = `hist-${i}`;
      const spec: VmSpec = vmSpecSchema.parse({ ...recipe.draft, vm: { ...recipe.draft.vm, name } });
      const requester = HISTORY_USERS[i % HISTORY_USERS.length]!;
      const lead = LEADS[i % LEADS.length]!;
      const id = `REQ-${await store.nextNumber('request')}`;
      const roll = fraction(i, 1);
      const decided = created + Math.floor(fraction(i, 2) * 3_600_000);
      const base: RequestRecord = {
        kind: 'vm',
        id,
        version: 4,
        state: 'pending',
        createdAt: iso(created),
        updatedAt: iso(decided),
        expiresAt: future(created + DAY),
        requester,
        recipe: recipe.id,
        spec,
        approvals: [],
        warnings: [],
        sourceViewId: `V0HIST${i}`,
        approvalMessage: { channel: 'C0APPROVALS', ts: `${Math.floor(created / 1000)}.000100` },
        permalink: `https://sim.slack.test/archives/C0APPROVALS/p${Math.floor(created / 1000)}000100`,
      };
      const events: AuditEvent[] = [{ actor: requester, action: 'request.created', requestId: id, vmName: name, outcome: 'ok', detail: `recipe ${recipe.id}` }];
      const say = (action: string, actor = 'vmbot', outcome: AuditEvent['outcome'] = 'info', extra: Partial<AuditEvent> = {}) =>
        events.push({ actor, action, requestId: id, vmName: name, outcome, ...extra });
      let run: RunRecord | undefined;
      if (roll < 0.14) {
        const state = roll < 0.08 ? 'rejected' : roll < 0.12 ? 'expired' : 'cancelled';
        await store.insertRequest({
          ...base,
          state,
          decidedAt: iso(decided),
          ...(state === 'rejected' ? { decidedBy: lead, reason: 'not this quarter' } : {}),
        });
        say(`request.${state}`, state === 'rejected' ? lead : state === 'cancelled' ? requester : 'vmbot', 'ok');
        while (events.length < 11) say('slack.message_updated'); // the approval message, DMs and the audit channel
      } else {
        const failed = roll < 0.17;
        const longLived = !failed && fraction(i, 3) < 0.02;
        const ready = decided + 120_000;
        const ends = ready + LEASE;
        const runId = `run-hist${i.toString(36)}`;
        const plan = planSpec(spec);
        const steps = Object.fromEntries(
          plan.steps.map((s, k) => [
            s.id,
            failed && k === plan.steps.length - 1
              ? { status: 'failed' as const, attempts: 1, at: iso(ready) }
              : { status: 'done' as const, key: String(1000 + k), attempts: 1, at: iso(decided + k * 1000) },
          ]),
        );
        // As the lease sweep leaves them: reminded 3 days and 1 day before the end, powered off at
        // the end, deleted 3 days later.
        const gone = failed || (!longLived && ends + GRACE <= now);
        const expired = !failed && !longLived && !gone && ends <= now;
        const reminded = REMIND_BEFORE.filter((before) => now >= ends - before);
        run = {
          id: runId,
          version: 9,
          state: failed ? 'cleaned_up' : gone ? 'decommissioned' : 'succeeded',
          createdAt: iso(decided),
          updatedAt: iso(gone ? (failed ? ready + 600_000 : ends + GRACE) : expired ? ends : ready),
          actor: requester,
          requestId: id,
          spec,
          steps,
          keys: { vmKey: String(10_000 + i), machineKey: String(20_000 + i) },
          poweredOn: !failed && !expired && !gone,
          ...(failed ? { error: { code: 'VERGEOS_ERROR', message: 'VergeOS refused the NIC: the network is full.', stepId: plan.steps.at(-1)!.id } } : {}),
          ...(!failed && !longLived
            ? { lease: { forMs: LEASE, endsAt: future(ends), reminded, outbox: [], ...(gone || expired ? { expiredAt: iso(ends) } : {}) } }
            : {}),
          ...(gone && !failed ? { decommission: { by: 'lease', at: iso(ends + GRACE) } } : {}),
        };
        await store.insertRequest({
          ...base,
          state: failed ? 'cleaned_up' : 'succeeded',
          version: 7,
          decidedBy: lead,
          decidedAt: iso(decided),
          approvals: [{ user: lead, at: iso(decided) }],
          runId,
          progressMessage: { channel: 'C0APPROVALS', ts: `${Math.floor(decided / 1000)}.000200` },
          updatedAt: iso(failed ? ready + 600_000 : ready),
        });
        // The VM's own record, as the executor makes it when the run's last step is done, with the
        // lease as it runs; the run keeps only the lease's terms.
        const vm = failed ? undefined : vmRecordFromRun(run, new Date(ready));
        if (run.lease) run.lease = { forMs: run.lease.forMs, reminded: [], outbox: [] };
        await store.insertRuns([run]);
        if (vm) await store.insertVm({ ...vm, version: gone ? 2 : 1, updatedAt: run.updatedAt, ...(gone ? { deletedAt: run.updatedAt } : {}) });
        say('request.approved', lead, 'ok');
        say('request.provisioning', lead);
        for (const step of plan.steps) say('run.step_done', 'vmbot', 'ok', { runId, keys: { key: steps[step.id]!.key ?? '' } });
        say(failed ? 'request.failed' : 'request.succeeded', 'vmbot', failed ? 'failed' : 'ok', { runId });
        if (failed) say('request.cleaned_up', lead, 'ok', { runId });
        else if (gone) say('lease.deleted', 'vmbot', 'ok', { runId });
        while (events.length < 11) say('lease.reminder', 'vmbot', 'info', { runId });
        events.length = 11;
      }
      for (const event of events) await audit.append(event);
      // A running bot archives on a schedule; here, once per simulated day.
      const day = Math.floor(created / DAY);
      if (day !== lastDay) {
        lastDay = day;
        await store.archiveOld();
      }
      if (ARCHIVED_SAMPLES.some((f) => i === Math.floor(f * count))) archived.push(id);
      recent = id;
    }
    await store.archiveOld();
    return { recent, archived, workingSet: { requests: store.listRequests().length, runs: store.listRuns().length } };
  } finally {
    await store.close();
    await audit.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [dir, count] = process.argv.slice(2);
  if (!dir || !count || !/^\d+$/.test(count)) {
    process.stderr.write('usage: tsx bench/history.ts DATA_DIR COUNT\n');
    process.exit(2);
  }
  const started = performance.now();
  const history = await generateHistory(resolve(dir), Number(count));
  process.stdout.write(
    `${count} requests in ${((performance.now() - started) / 1000).toFixed(1)} s; working set ${history.workingSet.requests} requests, ${history.workingSet.runs} runs; recent ${history.recent}, archived ${history.archived.join(' ')}\n`,
  );
}
