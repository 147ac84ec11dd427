/** What a run tells its listener (a Slack thread, the CLI's progress lines) as it goes, and who asked for it. */
import type { Logger } from '../log.js';
import type { RunError } from '../store/records.js';
import type { RunResult } from './result.js';

export type RunEvent =
  | { type: 'step_started'; runId: string; stepId: string; index: number; total: number; description: string }
  | {
      type: 'step_done';
      runId: string;
      stepId: string;
      index: number;
      total: number;
      description: string;
      key?: string | undefined;
      vmKey?: string | undefined;
      machineKey?: string | undefined;
      uuid?: string | undefined;
      reconciled: boolean;
    }
  | { type: 'step_failed'; runId: string; stepId: string; index: number; total: number; description: string; error: RunError }
  | { type: 'run_succeeded'; runId: string; result: RunResult }
  | { type: 'run_failed'; runId: string; error: RunError; created: string; result: RunResult }
  /** The store took no more writes (a full disk): nothing more is sent until it does; then the run resumes where it stopped. */
  | { type: 'run_paused'; runId: string; reason: string };

export type RunEventListener = (event: RunEvent) => void | Promise<void>;

export interface RunMeta {
  actor: string;
  requestId?: string;
  group?: string;
  /** Keep the VM this long after it is ready (ms), extendable up to `maxMs` from now. */
  lease?: { forMs: number; maxMs?: number | undefined } | undefined;
  /** A clone of this VM (its VM key and name) rather than a VM built from the spec. */
  clone?: { vmKey: string; name: string } | undefined;
}

/** Tell the listener; a listener (e.g. a Slack post) failing must not change the run's outcome. */
export async function emitRunEvent(listener: RunEventListener | undefined, event: RunEvent, logger: Logger | undefined): Promise<void> {
  if (!listener) return;
  try {
    await listener(event);
  } catch (err) {
    logger?.warn({ runId: event.runId, event: event.type, err: (err as Error).message }, 'run event listener failed');
  }
}
