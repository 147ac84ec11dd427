/**
 * After a POST whose outcome is unknown (timeout, reset, crash), find out whether the object
 * exists before anything is re-sent: the VM by name (a clone too), a drive or NIC by machine and
 * name, a device by machine and resource group, power by machine status.
 */
import type { PlanStep } from '../plan/plan.js';
import type { RunRecord } from '../store/records.js';
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

export async function lookUpStep(api: VergeosApi, step: PlanStep, run: RunRecord): Promise<Found | undefined> {
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
    case 'clone_vm': {
      // The name is the bot's: reserved when the clone was asked for and checked free in VergeOS
      // before the run, so a VM of that name now is the copy.
      const vm = await api.findVmByName(step.body.name);
      return vm ? { vmKey: vm.key, machineKey: vm.machineKey, key: vm.key } : undefined;
    }
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
