/**
 * Drives: a new one (`POST /machine_drives` on the VM's machine, always named so a lost answer is
 * found by machine and name) and growing one (`PUT /machine_drives/{key}` with the new size in
 * bytes; grow only).
 */
import { driveBody } from '../../plan/plan.js';
import { specDrive } from '../../vmchange/describe.js';
import { CodedError, EXIT } from '../../errors.js';
import type { ChangeHandler, ChangeTarget, ChangeTools } from './handler.js';

export const diskAdd: ChangeHandler<'disk_add'> = {
  async send(tools, target, change) {
    const { key } = await tools.api.addDrive({ machine: target.machineKey, ...driveBody(change.drive, 0) });
    return { key };
  },
  async lookUp(tools, target, change, others) {
    const drive = (await tools.api.listDrives(target.machineKey)).find((d) => d.name === change.drive.name && !others.has(d.key));
    return drive ? { key: drive.key } : undefined;
  },
  async nameTaken(tools, target, change) {
    const taken = (await tools.api.listDrives(target.machineKey)).some((d) => d.name === change.drive.name);
    return taken ? `the VM has had a drive named ${change.drive.name} since this was asked` : undefined;
  },
  apply(vm, change) {
    vm.spec.drives.push(change.drive);
  },
};

/** The drive of that name on the machine now; a clear error when there is none. */
export async function driveNamed(tools: ChangeTools, target: ChangeTarget, name: string) {
  const drive = (await tools.api.listDrives(target.machineKey)).find((d) => d.name === name);
  if (!drive) throw new CodedError('CHANGE_NO_SUCH_DRIVE', `the VM has no drive named ${name}`, { exitCode: EXIT.badInput });
  return drive;
}

export const diskGrow: ChangeHandler<'disk_grow'> = {
  async send(tools, target, change) {
    const drive = await driveNamed(tools, target, change.drive);
    await tools.api.growDrive(drive.key, change.disksize);
    return { key: drive.key };
  },
  async lookUp(tools, target, change) {
    const drive = await driveNamed(tools, target, change.drive);
    return drive.disksize >= change.disksize ? { key: drive.key } : undefined;
  },
  apply(vm, change) {
    const drive = specDrive(vm, change.drive);
    if (drive) drive.disksize = change.disksize;
  },
};
