/**
 * Prometheus metrics (prom-client), one registry per process. Labels carry only values from
 * fixed sets in the code (states, outcomes, HTTP methods, VergeOS table routes, Slack method
 * names and error codes) — never a name, id or anything a user typed — so cardinality stays
 * bounded and no secret or personal value reaches a dashboard.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'vmbot_' });

/** Values the gauges read when scraped; the bot sets these once it has its parts. */
export interface GaugeSources {
  requestsByState?: () => Record<string, number>;
  pendingSlackWrites?: () => number;
  runsInFlight?: () => number;
}
const sources: GaugeSources = {};

export function provideGauges(values: GaugeSources): void {
  Object.assign(sources, values);
}

new Gauge({
  name: 'vmbot_requests',
  help: 'Requests in the store, by state',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const [state, n] of Object.entries(sources.requestsByState?.() ?? {})) this.set({ state }, n);
  },
});

export const requestDecisionSeconds = new Histogram({
  name: 'vmbot_request_decision_seconds',
  help: 'From filing a request to its decision (approved, rejected, expired, cancelled)',
  labelNames: ['decision'] as const,
  buckets: [1, 10, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
  registers: [registry],
});

export const runsTotal = new Counter({
  name: 'vmbot_runs_total',
  help: 'Provisioning runs finished, by outcome',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const runDurationSeconds = new Histogram({
  name: 'vmbot_run_duration_seconds',
  help: 'How long one execution of a run took, by outcome',
  labelNames: ['outcome'] as const,
  buckets: [1, 5, 15, 30, 60, 120, 300, 900, 1800],
  registers: [registry],
});

new Gauge({
  name: 'vmbot_runs_in_flight',
  help: 'Runs being executed now',
  registers: [registry],
  collect() {
    this.set(sources.runsInFlight?.() ?? 0);
  },
});

export const vergeosRequestsTotal = new Counter({
  name: 'vmbot_vergeos_requests_total',
  help: 'VergeOS API calls (each attempt), by method, endpoint, HTTP status (or the transport failure) and purpose (provision, change, preflight, user, lease, sweep, refresh, readiness, other)',
  labelNames: ['method', 'endpoint', 'status', 'purpose'] as const,
  registers: [registry],
});

export const vergeosBudgetWaitSeconds = new Counter({
  name: 'vmbot_vergeos_budget_wait_seconds_total',
  help: 'Time VergeOS calls waited for the request budget (VERGEOS_RATE_LIMIT) or a shared back-off, by purpose',
  labelNames: ['purpose'] as const,
  registers: [registry],
});

export const vergeosBudgetPauses = new Counter({
  name: 'vmbot_vergeos_budget_pauses_total',
  help: 'Times every VergeOS caller was paused: rate_limited (a 429), unavailable (502/503/504), dropped (a connection reset or closed)',
  labelNames: ['reason'] as const,
  registers: [registry],
});

/** What the budget gauges read when scraped (the process's budgets, one per API key). */
export interface BudgetReading {
  left: number;
  waiting: number;
  perHour: number;
}
let budgetReadings: () => BudgetReading[] = () => [];

export function provideBudgetReadings(read: () => BudgetReading[]): void {
  budgetReadings = read;
}

new Gauge({
  name: 'vmbot_vergeos_budget_remaining',
  help: 'VergeOS calls that can be sent now without waiting (the scarcest API key’s budget); 0 when VERGEOS_RATE_LIMIT is off',
  registers: [registry],
  collect() {
    this.reset();
    const readings = budgetReadings();
    if (readings.length) this.set(Math.min(...readings.map((r) => r.left)));
  },
});

new Gauge({
  name: 'vmbot_vergeos_budget_waiting',
  help: 'VergeOS calls waiting for the request budget now',
  registers: [registry],
  collect() {
    this.set(budgetReadings().reduce((n, r) => n + r.waiting, 0));
  },
});

new Gauge({
  name: 'vmbot_vergeos_budget_per_hour',
  help: 'The request budget per API key, calls per hour (VERGEOS_RATE_LIMIT); 0 when it is off',
  registers: [registry],
  collect() {
    this.reset();
    const readings = budgetReadings();
    if (readings.length) this.set(Math.min(...readings.map((r) => r.perHour)));
  },
});

export const vergeosRequestSeconds = new Histogram({
  name: 'vmbot_vergeos_request_duration_seconds',
  help: 'VergeOS API call latency (each attempt), by method and endpoint',
  labelNames: ['method', 'endpoint'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const slackApiErrorsTotal = new Counter({
  name: 'vmbot_slack_api_errors_total',
  help: 'Slack Web API calls that failed, by method and Slack error code',
  labelNames: ['method', 'error'] as const,
  registers: [registry],
});

export const slackRateLimitedTotal = new Counter({
  name: 'vmbot_slack_rate_limited_total',
  help: 'Slack Web API answers of HTTP 429 (rate limited), by method',
  labelNames: ['method'] as const,
  registers: [registry],
});

new Gauge({
  name: 'vmbot_slack_pending_writes',
  help: 'Slack messages, edits and views waiting for their turn',
  registers: [registry],
  collect() {
    this.set(sources.pendingSlackWrites?.() ?? 0);
  },
});

export const leaseSweepsTotal = new Counter({
  name: 'vmbot_lease_sweeps_total',
  help: 'Lease sweeps, by outcome',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const leaseActionsTotal = new Counter({
  name: 'vmbot_lease_actions_total',
  help: 'Lease steps taken: reminded, expired (powered off), deleted',
  labelNames: ['action'] as const,
  registers: [registry],
});

/** `/vms/42` → `/vms/:key`: the table, never the key (keys are unbounded). */
export function endpointLabel(path: string): string {
  const [table, key] = path.replace(/^\//, '').split('?')[0]!.split('/');
  return `/${table ?? ''}${key === undefined ? '' : '/:key'}`;
}

/** A Slack error code as a label: Slack's own snake_case codes, anything else `other`. */
export function slackErrorLabel(error: string): string {
  return /^[a-z0-9_]{1,64}$/.test(error) ? error : 'other';
}
