/** The errors a run's execution raises besides VergeOS's own (`ProvisionFailure` is in messages.ts). */
import { CodedError } from '../errors.js';
import { VergeosError } from '../vergeos/errors.js';
import { ProvisionFailure } from './messages.js';

/** Thrown when a run is asked to do two things at once; `isBusy` knows its code. */
export class RunBusyError extends CodedError {
  override name = 'RunBusy';

  constructor(message: string) {
    super('RUN_BUSY', message);
  }
}

/** A wait given up because the process is shutting down (not a failure: the step is redone at resume). */
export class StopRequested extends CodedError {
  override name = 'StopRequested';

  constructor() {
    super('RUN_STOP_REQUESTED', 'the bot is shutting down; the step starts again at the next start');
  }
}

/** What a run records for any error of a step or a teardown: VergeOS's answer, or the bot's own failure. */
export function asFailure(err: unknown): VergeosError | ProvisionFailure {
  if (err instanceof VergeosError || err instanceof ProvisionFailure) return err;
  return new ProvisionFailure('PROVISION_INTERNAL', `the bot hit an internal error (${(err as Error)?.message ?? String(err)})`);
}
