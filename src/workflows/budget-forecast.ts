/**
 * How long a request's provisioning takes at VergeOS's request budget, said before anyone approves
 * it: each VM costs its plan's calls (create, drives, NICs, devices, power), and past the burst
 * the budget sends them at its hourly rate. The batch then paces itself instead of failing half-way.
 */
import { planSpec } from '../plan/plan.js';
import type { VergeosApi } from '../vergeos/client.js';
import type { VmSpec } from '../vmspec/schema.js';

export interface BudgetForecast {
  /** VergeOS calls the VMs' plans make (the least provisioning can take). */
  calls: number;
  /** How long sending them takes at the budget, from now (ms). */
  waitMs: number;
  perHour: number;
}

/** Below this the pace is not worth a line for the lead. */
const WORTH_SAYING_MS = 60_000;

/**
 * The least calls provisioning these VMs makes: one per plan step, a wait for imports at least one
 * drive listing, and a VM with passthrough devices one look at the resource groups before its first POST.
 */
export function provisioningCalls(specs: readonly VmSpec[]): number {
  return specs.reduce((n, spec) => {
    const steps = planSpec(spec).steps;
    return n + steps.length + (steps.some((s) => s.kind === 'add_device' && s.body.type !== 'tpm') ? 1 : 0);
  }, 0);
}

/** The forecast, or undefined when no budget paces this client. */
export function forecastProvisioning(api: VergeosApi, specs: readonly VmSpec[]): BudgetForecast | undefined {
  const budget = api.budget;
  if (!budget) return undefined;
  const calls = provisioningCalls(specs);
  return { calls, waitMs: budget.predictWaitMs(calls), perHour: budget.perHour };
}

/** The lead's line when the budget will stretch the provisioning out; undefined when it won't. */
export function forecastWarning(forecast: BudgetForecast | undefined, vms: number): string | undefined {
  if (!forecast || forecast.waitMs < WORTH_SAYING_MS) return undefined;
  const these = vms === 1 ? 'this VM needs' : `these ${vms} VMs need`;
  return `VergeOS allows ${Math.round(forecast.perHour)} API calls an hour: ${these} ${forecast.calls}, so the bot paces them and provisioning takes about ${roughly(forecast.waitMs)} (at the budget left now).`;
}

/** `34 minutes`, `2.5 hours`: a pace, not a timetable. */
function roughly(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  if (minutes < 90) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.round(ms / 360_000) / 10;
  return `${hours} hours`;
}
