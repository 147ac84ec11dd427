/** Runs before they execute: stored (many in one write, each with its own id) and, for a stopped batch, marked not started. */
import { randomBytes } from 'node:crypto';
import { planRun } from '../plan/plan.js';
import type { RunRecord, StepProgress } from '../store/records.js';
import type { VmSpec } from '../vmspec/schema.js';
import type { ProvisionContext } from './context.js';
import type { RunMeta } from './events.js';

/** Several runs stored in one write, each with its own id, one `run.created` record each. */
export async function createRuns(ctx: ProvisionContext, specs: VmSpec[], meta: RunMeta): Promise<RunRecord[]> {
  const now = new Date().toISOString();
  const runs = specs.map((spec): RunRecord => ({
    id: `run-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
    version: 0,
    state: 'pending',
    createdAt: now,
    updatedAt: now,
    actor: meta.actor,
    ...(meta.requestId ? { requestId: meta.requestId } : {}),
    ...(meta.group ? { group: meta.group } : {}),
    ...(meta.lease ? { lease: { forMs: meta.lease.forMs, ...(meta.lease.maxMs ? { maxMs: meta.lease.maxMs } : {}), reminded: [], outbox: [] } } : {}),
    spec,
    ...(meta.clone ? { clone: { vmKey: meta.clone.vmKey, name: meta.clone.name } } : {}),
    steps: Object.fromEntries(planRun({ spec, clone: meta.clone }).steps.map((s) => [s.id, { status: 'pending', attempts: 0 } satisfies StepProgress])),
    keys: {},
    poweredOn: false,
  }));
  await ctx.store.insertRuns(runs);
  for (const run of runs)
    await ctx.records.record(
      run,
      meta.actor,
      'run.created',
      'ok',
      `${planRun(run).steps.length} steps${run.clone ? `: a clone of ${run.clone.name} (VM key ${run.clone.vmKey})` : ''}`,
    );
  return runs;
}

/**
 * Pending runs a stopped batch will not start: `not_started`, with the reason, one audit record
 * each. Runs that already began (or were retried) are left as they are.
 */
export async function markNotStarted(ctx: ProvisionContext, runIds: readonly string[], reason: string, actor: string): Promise<RunRecord[]> {
  const marked: RunRecord[] = [];
  for (const id of runIds) {
    const before = ctx.runs.require(id);
    if (before.state !== 'pending') continue;
    const run = await ctx.store.updateRun(id, { version: before.version, states: ['pending'] }, (r) => {
      r.state = 'not_started';
      r.error = { code: 'BATCH_STOPPED', message: `Not started: ${reason}` };
    });
    await ctx.records.record(run, actor, 'run.not_started', 'info', reason);
    marked.push(run);
  }
  return marked;
}
