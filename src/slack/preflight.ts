/**
 * Pre-flight for a modal submission: the core checks (src/preflight/), bounded in time so the
 * submission is still answered within Slack's 3 s; what could not be checked becomes a warning.
 */
import { preflightSpecs, type PreflightResult } from '../preflight/check.js';
import type { VmSpec } from '../vmspec/schema.js';
import type { VergeosApi } from '../vergeos/client.js';

export async function preflight(api: VergeosApi, specs: readonly VmSpec[], deadlineMs = 2_000): Promise<PreflightResult> {
  const checks = preflightSpecs(api, specs);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), deadlineMs)));
  try {
    const outcome = await Promise.race([checks.catch((err: unknown) => ({ error: err as Error })), late]);
    if (outcome === 'late')
      return {
        errors: [],
        warnings: ['VergeOS was too slow to pre-check this request (names, cluster, networks, media, capacity); they will be checked when it runs.'],
      };
    if ('error' in outcome) return { errors: [], warnings: [`Could not pre-check with VergeOS (${outcome.error.message}); it will be checked when it runs.`] };
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}
