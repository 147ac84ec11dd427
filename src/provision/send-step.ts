/** The one VergeOS call each kind of plan step makes, and the check before the first POST that the spec is still as approved. */
import type { PlanStep } from '../plan/plan.js';
import type { RunRecord } from '../store/records.js';
import type { VergeosApi } from '../vergeos/client.js';
import { findResourceGroup } from '../vergeos/resource-groups.js';
import { ProvisionFailure } from './messages.js';
import { findCopy, type Found, type HeldElsewhere } from './reconcile.js';
import { powerOnVm } from './vm-power.js';

/** `heldElsewhere`: VM keys other records of the bot hold, never taken as a clone's copy. */
export async function sendStep(api: VergeosApi, step: PlanStep, run: RunRecord, heldElsewhere: HeldElsewhere): Promise<Found> {
  const machine = run.keys.machineKey!;
  switch (step.kind) {
    case 'create_vm': {
      await checkAsApproved(api, run);
      const { vmKey, machineKey } = await api.createVm(step.body);
      return { key: vmKey, vmKey, machineKey };
    }
    case 'clone_vm':
      return cloneVm(api, step, run, heldElsewhere);
    case 'add_drive':
      return api.addDrive({ machine, ...step.body });
    case 'add_nic':
      return api.addNic({ machine, ...step.body });
    case 'add_device': {
      const type = step.body.type;
      // A device's kind is what the policy decided on: never guessed at run time.
      if (type === undefined)
        throw new ProvisionFailure(
          'PROVISION_NOT_AS_APPROVED',
          `the device from resource group ${String(step.body.resource_group)} has no type in the approved spec`,
        );
      const { key, uuid } = await api.addDevice({ machine, ...step.body, type });
      return { key, ...(uuid ? { uuid } : {}) };
    }
    case 'power_on':
      await powerOnVm(api, run.keys.vmKey!);
      return {};
    case 'wait_imports':
      return {};
  }
}

/**
 * The clone, sent once and only while its name is free in VergeOS: the name was checked when the
 * clone was asked for, and someone may have taken it since. Keys VergeOS does not answer are read
 * from the copy, found by its name as the clone makes it (never a stranger's VM of that name).
 */
async function cloneVm(api: VergeosApi, step: Extract<PlanStep, { kind: 'clone_vm' }>, run: RunRecord, heldElsewhere: HeldElsewhere): Promise<Found> {
  const { vm: source, name } = step.body;
  if (await api.findVmByName(name))
    throw new ProvisionFailure(
      'PROVISION_NOT_AS_APPROVED',
      `the name ${name} was taken in VergeOS after the request was filed; nothing was cloned — file it again with another name`,
    );
  const answered = await api.cloneVm(source, name);
  if (answered.vmKey && answered.machineKey) return { key: answered.vmKey, vmKey: answered.vmKey, machineKey: answered.machineKey };
  const copy = await findCopy(api, step, run, heldElsewhere);
  if (copy) return copy;
  throw new ProvisionFailure(
    'PROVISION_CLONE_NOT_FOUND',
    `VergeOS took the clone but answered no keys and lists no copy named ${name} yet; resuming the run looks it up again (the clone is not sent twice)`,
    { outcomeUnknown: true },
  );
}

/**
 * Before the first POST: each device's resource group still holds the kind of device the
 * approved spec (and so the policy) names. A group changed since would build something nobody
 * approved, so the run stops with nothing created.
 */
async function checkAsApproved(api: VergeosApi, run: RunRecord): Promise<void> {
  const devices = run.spec.devices.filter((d) => d.type !== 'tpm');
  if (!devices.length) return;
  const groups = await api.listResourceGroups();
  for (const [i, device] of devices.entries()) {
    const group = findResourceGroup(groups, device.resource_group);
    if (device.type === undefined)
      throw new ProvisionFailure('PROVISION_NOT_AS_APPROVED', `device ${i + 1} has no type in the approved spec, so the policy could not have judged it`);
    if (!group) throw new ProvisionFailure('PROVISION_NOT_AS_APPROVED', `resource group ${String(device.resource_group)} no longer exists in VergeOS`);
    if (group.type !== device.type)
      throw new ProvisionFailure(
        'PROVISION_NOT_AS_APPROVED',
        `resource group ${group.name} now holds ${group.type || 'devices of no known type'}, not the ${device.type} that was approved; file the request again so the policy judges what it holds now`,
      );
  }
}
