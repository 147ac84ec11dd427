/**
 * Snapshots (`machine_snapshots`, never a `vm_actions` "snapshot", which VergeOS refuses): taken
 * with an absolute `expires`, deleted by key, and restored in place through the snapshot's own
 * hidden VM (its key looked up from `snap_machine`: the machine key would restore another VM).
 */
import { CodedError, EXIT } from '../../errors.js';
import { isVergeosError } from '../../vergeos/errors.js';
import { stopVm } from '../vm-power.js';
import type { ChangeHandler } from './handler.js';

export const snapshotCreate: ChangeHandler<'snapshot_create'> = {
  async send(tools, target, change) {
    const { key } = await tools.api.createSnapshot({
      machine: target.machineKey,
      name: change.name,
      expiresAt: change.expires === undefined ? undefined : new Date(change.expires),
      quiesce: change.quiesce,
    });
    return { key };
  },
  async lookUp(tools, target, change, others) {
    const found = (await tools.api.listSnapshots(target.machineKey)).find((s) => s.name === change.name && !others.has(s.key));
    return found ? { key: found.key } : undefined;
  },
  async nameTaken(tools, target, change) {
    const taken = (await tools.api.listSnapshots(target.machineKey)).some((s) => s.name === change.name);
    return taken ? `the VM has had a snapshot named ${change.name} since this was asked` : undefined;
  },
  apply() {},
};

export const snapshotDelete: ChangeHandler<'snapshot_delete'> = {
  async send(tools, _target, change) {
    try {
      await tools.api.deleteSnapshot(change.snapshotKey);
    } catch (err) {
      // Gone already (deleted in VergeOS, or it expired): what was asked for.
      if (!(isVergeosError(err) && err.code === 'VERGEOS_NOT_FOUND')) throw err;
    }
    return { key: change.snapshotKey };
  },
  async lookUp(tools, target, change) {
    const still = (await tools.api.listSnapshots(target.machineKey)).some((s) => s.key === change.snapshotKey);
    return still ? undefined : { key: change.snapshotKey };
  },
  apply() {},
};

export const snapshotRestore: ChangeHandler<'snapshot_restore'> = {
  async send(tools, target, change) {
    const snapshot = (await tools.api.listSnapshots(target.machineKey)).find((s) => s.key === change.snapshotKey);
    if (!snapshot?.snapMachineKey)
      throw new CodedError('CHANGE_NO_SUCH_SNAPSHOT', `snapshot ${change.snapshot} no longer exists in VergeOS; nothing was restored`, {
        exitCode: EXIT.badInput,
      });
    const snapshotVm = await tools.api.snapshotVmKey(snapshot.snapMachineKey);
    if (!snapshotVm)
      throw new CodedError('CHANGE_NO_SUCH_SNAPSHOT', `VergeOS lists no VM for snapshot ${change.snapshot}; nothing was restored`, { exitCode: EXIT.badInput });
    // The owner agreed to power it off for the restore (done only now that the restore is allowed).
    if (change.power_off) await stopVm(tools.api, target.vmKey, target.machineKey, tools.stopTiming);
    await tools.api.restoreSnapshot(snapshotVm, change.snapshotKey);
    // Restored: its size as it is now, if VergeOS says (the record keeps the last known otherwise).
    const vm = await tools.api.getVm(target.vmKey).catch(() => undefined);
    return { key: change.snapshotKey, size: vm?.cpuCores && vm.ram ? { cpu_cores: vm.cpuCores, ram: vm.ram } : undefined };
  },
  // A revert leaves nothing to tell it happened by: never sent again by itself.
  lookUp: () => Promise.resolve('unknowable'),
  apply(vm, change, outcome) {
    // Its size as VergeOS reports it after, else the snapshot's as read at pre-flight.
    const size = outcome.size ?? change.restores_to;
    if (size) {
      vm.spec.vm.cpu_cores = size.cpu_cores;
      vm.spec.vm.ram = size.ram;
    }
    delete vm.needRestart;
  },
};
