/**
 * VergeOS's API budget (1000 calls an hour per key), counted by a call-counting stand-in (the
 * simulator in this process, which logs every request):
 *
 * 1. An idle bot with 300 provisioned VMs on record, its scheduled work run for one hour of
 *    compressed time: VergeOS calls in that hour. Target ≤ 20 (the ceiling, the baseline).
 * 2. Calls per provisioned VM in a 100-VM batch (a tenth importing an image, a tenth with a TPM),
 *    pre-flight included, against the minimum: each plan's calls (create, drives, NICs, devices,
 *    one look at importing drives, power on) plus pre-flight's lists once for the batch and one
 *    name lookup per 20 names. Target ≤ 1.2 × the minimum.
 * 3. The same batch under a 1000/h budget, time compressed 60× (an hour in a minute): it finishes
 *    with 0 failed VMs and 0 duplicate POSTs, and takes what pre-flight predicted within 20 %
 *    (measured/predicted and predicted/measured each ≤ 1.2).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provisionBatch } from '../src/batches/batch.js';
import { preflightSpecs } from '../src/preflight/check.js';
import { Provisioner } from '../src/provision/provisioner.js';
import { SIM_DEFAULT_API_KEY, startVergeosSim, type VergeosSim } from '../src/sim/index.js';
import { FileAuditLog } from '../src/store/audit-file.js';
import { LowdbStore } from '../src/store/lowdb.js';
import { RequestBudget, type BudgetClock } from '../src/vergeos/budget.js';
import { VergeosClient } from '../src/vergeos/client.js';
import { withPurpose } from '../src/vergeos/purpose.js';
import { parseSpec } from '../src/vmspec/validate.js';
import type { VmSpec } from '../src/vmspec/schema.js';
import { forecastProvisioning, provisioningCalls } from '../src/workflows/budget-forecast.js';
import type { Benchmark, BenchResult } from './harness.js';
import { idleBotCallsPerHour } from './idle-bot.js';

const BATCH = 100;
const NAMES_PER_LOOKUP = 20;
const COMPRESSION = 60;
const PER_HOUR = 1000;
const BURST = 45;

/** Time `factor`× faster than the wall clock, from now: the budget's hour passes in 3600/factor s. */
function compressedClock(factor: number): BudgetClock {
  const realStart = Date.now();
  return {
    now: () => realStart + (Date.now() - realStart) * factor,
    wait: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, ms / factor);
        signal.addEventListener('abort', done, { once: true });
      }),
  };
}

/**
 * Small VMs a cluster can run a hundred of: 1 vCPU, 4 GiB, a 10 GiB disk, one NIC, powered on; one
 * in ten also imports a cloud image (the run waits for it: drive lists), one in ten has a virtual TPM.
 */
function smallSpecs(prefix: string, count: number): VmSpec[] {
  return Array.from({ length: count }, (_, i) => {
    const parsed = parseSpec({
      vm: { name: `${prefix}-${String(i + 1).padStart(3, '0')}`, cluster: '1', cpu_cores: 1, ram: '4GiB' },
      drives: [
        { name: 'OS', disksize: '10GiB', preferred_tier: '1' },
        ...(i % 10 === 0 ? [{ name: 'image', media: 'import', media_source: '124', preferred_tier: '1' }] : []),
      ],
      nics: [{ name: 'lan', vnet: '4' }],
      devices: i % 10 === 1 ? [{ type: 'tpm' }] : [],
      power_on: true,
    });
    if (!parsed.ok) throw new Error(`bench spec invalid: ${JSON.stringify(parsed.errors)}`);
    return parsed.value;
  });
}

/** POSTs that created the same thing twice (same table, same name): what exactly-once forbids. */
function duplicatePosts(sim: VergeosSim): number {
  const seen = new Set<string>();
  let duplicates = 0;
  for (const r of sim.requests) {
    if (r.method !== 'POST' || r.route === 'POST /vm_actions' || r.outcome === 'dropped') continue;
    const body = r.body as { name?: string; machine?: string | number };
    const id = `${r.route} ${String(body.machine ?? '')} ${body.name ?? ''}`;
    if (seen.has(id)) duplicates++;
    seen.add(id);
  }
  const powerOns = sim.requests.filter((r) => r.route === 'POST /vm_actions' && (r.body as { action?: string }).action === 'poweron');
  return duplicates + powerOns.length - new Set(powerOns.map((r) => String((r.body as { vm?: unknown }).vm))).size;
}

async function pacedBatch(): Promise<BenchResult[]> {
  // Imports take a little while, so a run may look at its drives more than once.
  const sim = await startVergeosSim({ timing: { importMs: 40, startMs: 0, stopMs: 0 } });
  const dir = await mkdtemp(join(tmpdir(), 'vmbot-bench-budget-'));
  const clock = compressedClock(COMPRESSION);
  const budget = new RequestBudget({ perHour: PER_HOUR, burst: BURST, clock });
  const vergeos = new VergeosClient({ url: sim.url, auth: { apiKey: SIM_DEFAULT_API_KEY }, budget });
  const store = await LowdbStore.open(dir);
  const audit = await FileAuditLog.open(dir);
  const provisioner = new Provisioner({ vergeos, store, audit, importPoll: { intervalMs: 20, timeoutMs: 60_000 } });
  try {
    const asked = smallSpecs('paced', BATCH);
    const checked = await withPurpose('preflight', () => preflightSpecs(vergeos, asked));
    if (checked.errors.length || !checked.specs) throw new Error(`bench pre-flight refused: ${JSON.stringify(checked.errors)}`);
    const preflightCalls = sim.requests.length;
    const forecast = forecastProvisioning(vergeos, checked.specs)!;
    const started = clock.now();
    const outcome = await provisionBatch(provisioner, checked.specs, { actor: 'bench', concurrency: 4 });
    const tookMs = clock.now() - started;
    const failed = outcome.runs.filter((r) => r.state !== 'succeeded').length;
    const duplicates = duplicatePosts(sim);
    const planCalls = provisioningCalls(checked.specs);
    // Pre-flight's least: one name lookup per 20 names, and clusters, their status, networks, tiers, media once each.
    const minimum = planCalls + Math.ceil(BATCH / NAMES_PER_LOOKUP) + 5;
    const total = sim.requests.length;
    const note = `${BATCH} VMs: ${total} calls (${preflightCalls} pre-flight, ${total - preflightCalls} provisioning), minimum ${minimum}; ${failed} failed, ${duplicates} duplicate POSTs; predicted ${Math.round(forecast.waitMs / 1000)} s, took ${Math.round(tookMs / 1000)} s at ${PER_HOUR}/h`;
    return [
      {
        name: `calls per provisioned VM (${BATCH}-VM batch, pre-flight included) vs the minimum`,
        value: total / BATCH,
        baseline: minimum / BATCH,
        unit: 'calls',
        target: 1.2,
        note,
      },
      { name: `failed VMs + duplicate POSTs in a ${BATCH}-VM batch under ${PER_HOUR}/h`, value: failed + duplicates, baseline: 1, unit: 'count', target: 0 },
      {
        name: `${BATCH}-VM batch under ${PER_HOUR}/h: time taken vs pre-flight's prediction`,
        value: tookMs / 1000,
        baseline: forecast.waitMs / 1000,
        unit: 's (compressed)',
        target: 1.2,
      },
      {
        name: `${BATCH}-VM batch under ${PER_HOUR}/h: prediction vs time taken`,
        value: forecast.waitMs / 1000,
        baseline: tookMs / 1000,
        unit: 's (compressed)',
        target: 1.2,
      },
    ];
  } finally {
    await audit.close();
    await store.close();
    await vergeos.close();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export const budgetBenchmark: Benchmark = {
  name: 'VergeOS API budget',
  async run() {
    const idle = await idleBotCallsPerHour();
    return [
      {
        name: 'idle bot with 300 VMs on record: VergeOS calls in an hour',
        value: idle.calls,
        baseline: 20,
        unit: 'calls',
        target: 1,
        note: idle.note,
      },
      ...(await pacedBatch()),
    ];
  },
};
