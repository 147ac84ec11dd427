/**
 * The facts a policy decision needs from VergeOS (names free, references, capacity, device kinds),
 * gathered by pre-flight within a deadline. Fail closed: facts VergeOS could not supply in time
 * are `unknown`, never assumed; the caller files the request as waiting for them.
 */
import { preflightSpecs } from '../preflight/check.js';
import type { VergeosApi } from '../vergeos/client.js';
import type { ResourceGroup } from '../vergeos/types.js';
import type { VmSpec } from '../vmspec/schema.js';
import type { FieldError } from '../vmspec/validate.js';
import { withDeadline, withPurpose } from '../vergeos/purpose.js';
import { forecastProvisioning, forecastWarning } from './budget-forecast.js';

export type Facts =
  /** Everything checked: the specs with each device's type filled in from its group. */
  | { kind: 'known'; specs: VmSpec[]; warnings: string[]; resourceGroups: ResourceGroup[] }
  /** Pre-flight found hard problems: field errors, nothing to file. */
  | { kind: 'problems'; errors: FieldError[] }
  /** VergeOS was too slow or failed: why, in a sentence. */
  | { kind: 'unknown'; why: string };

export async function gatherFacts(api: VergeosApi, specs: readonly VmSpec[], deadlineMs: number): Promise<Facts> {
  let timer: NodeJS.Timeout | undefined;
  // Past the deadline nobody reads the answers: calls still waiting for the request budget give up unsent.
  const abandoned = new AbortController();
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => (abandoned.abort(), resolve('late')), deadlineMs)));
  const checks = withDeadline(abandoned.signal, () => withPurpose('preflight', () => preflightSpecs(api, specs))).catch((err: unknown) => ({
    failed: err as Error,
  }));
  try {
    const outcome = await Promise.race([checks, late]);
    if (outcome === 'late') return { kind: 'unknown', why: `VergeOS did not answer the pre-flight checks within ${Math.round(deadlineMs / 100) / 10} s` };
    if ('failed' in outcome) return { kind: 'unknown', why: `VergeOS could not be asked (${outcome.failed.message})` };
    if (outcome.errors.length || !outcome.specs) return { kind: 'problems', errors: outcome.errors };
    const pace = forecastWarning(forecastProvisioning(api, outcome.specs), outcome.specs.length);
    const warnings = pace ? [...outcome.warnings, pace] : outcome.warnings;
    return { kind: 'known', specs: outcome.specs, warnings, resourceGroups: outcome.resourceGroups ?? [] };
  } finally {
    clearTimeout(timer);
  }
}
