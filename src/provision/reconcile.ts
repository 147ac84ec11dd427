/**
 * After a POST whose outcome is unknown (timeout, reset, crash), find out whether the object
 * exists before anything is re-sent: the VM by name (a clone's copy by name, size and
 * description, never another record's VM), a drive or NIC by machine and name, a device by
 * machine and resource group, power by machine status.
 */
import type { PlanStep } from '../plan/plan.js';
import type { RunRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { VergeosApi } from '../vergeos/client.js';
import { deviceInGroup } from '../vergeos/resource-groups.js';

export interface Found {
  key?: string;
  uuid?: string;
  vmKey?: string;
  machineKey?: string;
}

/** Keys already claimed by other steps of this run, so two steps never adopt the same object. */
function claimedKeys(run: RunRecord, exceptStepId: string): Set<string> {
  const keys = new Set<string>();
  for (const [id, progress] of Object.entries(run.steps)) if (id !== exceptStepId && progress.key) keys.add(progress.key);
  return keys;
}

/** Whether another of the bot's records (another run, another VM record) holds this VM key. */
export type HeldElsewhere = (vmKey: string) => boolean;

/** The test for a VM key held by any run or VM record of the bot other than run `runId`'s. */
export function heldByOtherRecords(store: Pick<Store, 'listRuns' | 'listVms'>, runId: string): HeldElsewhere {
  return (vmKey) =>
    store.listRuns((r) => r.id !== runId && r.keys.vmKey === vmKey).length > 0 || store.listVms((v) => v.runId !== runId && v.keys.vmKey === vmKey).length > 0;
}

/**
 * The clone's copy, found by its name. The name was only checked free when the clone was asked
 * for, so a VM of that name may be someone else's: it is the copy only if it is as the clone makes
 * it (the source's size and description, as the run's spec holds them) and no other record of the
 * bot holds it.
 */
export async function findCopy(
  api: VergeosApi,
  step: Extract<PlanStep, { kind: 'clone_vm' }>,
  run: RunRecord,
  heldElsewhere: HeldElsewhere,
): Promise<Found | undefined> {
  const vm = await api.findVmByName(step.body.name);
  if (!vm || heldElsewhere(vm.key)) return undefined;
  const source = run.spec.vm;
  const asCopied =
    (vm.cpuCores === undefined || vm.cpuCores === (source.cpu_cores ?? 1)) &&
    (vm.ram === undefined || vm.ram === (source.ram ?? 1024)) &&
    vm.description === (source.description ?? '');
  return asCopied ? { vmKey: vm.key, machineKey: vm.machineKey, key: vm.key } : undefined;
}

/**
 * What VergeOS holds of a step whose outcome is unknown. `heldElsewhere` keeps a clone's lookup
 * from adopting a VM another record of the bot holds (a cleanup without the store passes none).
 */
export async function lookUpStep(api: VergeosApi, step: PlanStep, run: RunRecord, heldElsewhere: HeldElsewhere = () => false): Promise<Found | undefined> {
  const machineKey = run.keys.machineKey;
  switch (step.kind) {
    case 'create_vm': {
      const vm = await api.findVmByName(step.body.name);
      if (!vm) return undefined;
      // Adopt it only if it is the VM we asked for: a VM of that name with another size or
      // description is someone else's, and re-sending then gets VergeOS's "name taken".
      const ours =
        (vm.cpuCores === undefined || vm.cpuCores === (step.body.cpu_cores ?? 1)) &&
        (vm.ram === undefined || vm.ram === (step.body.ram ?? 1024)) &&
        vm.description === (step.body.description ?? '');
      return ours ? { vmKey: vm.key, machineKey: vm.machineKey, key: vm.key } : undefined;
    }
    case 'clone_vm':
      return findCopy(api, step, run, heldElsewhere);
    case 'add_drive': {
      const taken = claimedKeys(run, step.id);
      const drive = (await api.listDrives(machineKey!)).find((d) => d.name === step.body.name && !taken.has(d.key));
      return drive ? { key: drive.key } : undefined;
    }
    case 'add_nic': {
      const taken = claimedKeys(run, step.id);
      const nic = (await api.listNics(machineKey!)).find((n) => n.name === step.body.name && n.vnet === step.body.vnet && !taken.has(n.key));
      return nic ? { key: nic.key } : undefined;
    }
    case 'add_device': {
      const taken = claimedKeys(run, step.id);
      const { type, resource_group: group } = step.body;
      const device = (await api.listDevices(machineKey!)).find(
        (d) => !taken.has(d.key) && (type === 'tpm' ? d.type === 'tpm' : group !== undefined && deviceInGroup(d, group)),
      );
      return device ? { key: device.key, ...(device.uuid ? { uuid: device.uuid } : {}) } : undefined;
    }
    case 'power_on': {
      const status = await api.machineStatus(machineKey!);
      return status && (status.running || status.status === 'starting' || status.status === 'running') ? {} : undefined;
    }
    case 'wait_imports':
      return undefined;
  }
}
