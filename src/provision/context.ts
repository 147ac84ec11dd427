/** What the parts of a provisioner share: VergeOS, the store, the run's audit records, claims and reads. */
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import type { VergeosApi } from '../vergeos/client.js';
import type { RunClaims } from './claims.js';
import type { RunQueries } from './queries.js';
import type { RunAudit } from './run-audit.js';
import type { StopTiming } from './vm-power.js';

export interface ProvisionContext {
  api: VergeosApi;
  store: Store;
  records: RunAudit;
  claims: RunClaims;
  runs: RunQueries;
  logger: Logger | undefined;
  /** How a VM is stopped before it is deleted or powered off. */
  stopTiming: StopTiming;
}
