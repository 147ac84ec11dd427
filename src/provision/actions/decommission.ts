/** Day-2 action: delete a provisioned VM on purpose (its owner, a lead, or its lease's end). */
import type { RunRecord } from '../../store/records.js';
import type { ProvisionContext } from '../context.js';
import { tearDown } from '../teardown.js';

/**
 * The same stop and DELETE as a cleanup, exactly once, resumable after a crash; the run ends
 * `decommissioned`. A deletion that fails leaves the run `cleaning_up` with the reason; running
 * it again resumes.
 */
export function decommission(ctx: ProvisionContext, runId: string, actor: string): Promise<RunRecord> {
  return tearDown(ctx, runId, actor, 'decommission');
}
