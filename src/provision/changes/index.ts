/** The handler of each kind of change. */
import type { ChangeAction } from '../../vmchange/schema.js';
import { diskAdd, diskGrow } from './drives.js';
import type { ChangeHandler } from './handler.js';
import { nicAdd } from './nics.js';
import { resize } from './resize.js';
import { snapshotCreate, snapshotDelete, snapshotRestore } from './snapshots.js';

export const CHANGE_HANDLERS: { [A in ChangeAction]: ChangeHandler<A> } = {
  resize,
  disk_add: diskAdd,
  disk_grow: diskGrow,
  nic_add: nicAdd,
  snapshot_create: snapshotCreate,
  snapshot_restore: snapshotRestore,
  snapshot_delete: snapshotDelete,
};
