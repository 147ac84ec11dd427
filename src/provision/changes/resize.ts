/**
 * Resize: `PUT /vms/{vmKey}` with cores and RAM (MB, already rounded up to 256). VergeOS takes it on
 * a running VM and applies it at the next power cycle (`need_restart`); with the owner's consent
 * the VM is power-cycled gracefully here, else the record says a restart is needed.
 */
import { powerOnVm, stopVm } from '../vm-power.js';
import { isVergeosError, operatorMessage } from '../../vergeos/errors.js';
import type { ChangeHandler, ChangeOutcome, ChangeTarget, ChangeTools } from './handler.js';

const said = (err: unknown) => (isVergeosError(err) ? operatorMessage(err) : (err as Error).message);

/**
 * After the PUT: VergeOS's `need_restart`, cycled away when the owner agreed to it. The resize is
 * done whatever happens here: a cycle or a read that fails is said (`note`), never a failed resize.
 */
async function afterResize(tools: ChangeTools, target: ChangeTarget, restart: boolean): Promise<ChangeOutcome> {
  let needRestart: boolean;
  try {
    needRestart = (await tools.api.getVm(target.vmKey)).needRestart;
  } catch (err) {
    return { needRestart: true, note: `VergeOS did not say whether it needs a restart (${said(err)}); power-cycle it to be sure` };
  }
  if (!needRestart || !restart) return { needRestart };
  try {
    await stopVm(tools.api, target.vmKey, target.machineKey, tools.stopTiming);
    await powerOnVm(tools.api, target.vmKey);
    return { needRestart: (await tools.api.getVm(target.vmKey)).needRestart };
  } catch (err) {
    return { needRestart: true, note: `the power cycle failed (${said(err)}); the new size waits for the next one` };
  }
}

export const resize: ChangeHandler<'resize'> = {
  async send(tools, target, change) {
    await tools.api.updateVmSize(target.vmKey, { cpu_cores: change.cpu_cores, ram: change.ram });
    return afterResize(tools, target, change.restart);
  },
  async lookUp(tools, target, change) {
    const vm = await tools.api.getVm(target.vmKey);
    if (vm.cpuCores !== change.cpu_cores || vm.ram !== change.ram) return undefined;
    return afterResize(tools, target, change.restart);
  },
  apply(vm, change, outcome) {
    vm.spec.vm.cpu_cores = change.cpu_cores;
    vm.spec.vm.ram = change.ram;
    if (outcome.needRestart) vm.needRestart = true;
    else delete vm.needRestart;
  },
};
