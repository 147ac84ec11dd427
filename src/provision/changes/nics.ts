/** A new NIC: `POST /machine_nics` on the VM's machine, always named (found by machine, name and network after an unknown outcome). */
import { nicBody } from '../../plan/plan.js';
import type { ChangeHandler } from './handler.js';

export const nicAdd: ChangeHandler<'nic_add'> = {
  async send(tools, target, change) {
    const { key } = await tools.api.addNic({ machine: target.machineKey, ...nicBody(change.nic, 0) });
    return { key };
  },
  async lookUp(tools, target, change, others) {
    const nic = (await tools.api.listNics(target.machineKey)).find((n) => n.name === change.nic.name && n.vnet === change.nic.vnet && !others.has(n.key));
    return nic ? { key: nic.key } : undefined;
  },
  async nameTaken(tools, target, change) {
    const taken = (await tools.api.listNics(target.machineKey)).some((n) => n.name === change.nic.name);
    return taken ? `the VM has had a NIC named ${change.nic.name} since this was asked` : undefined;
  },
  apply(vm, change) {
    vm.spec.nics.push(change.nic);
    // Its address comes later: the next reading (on demand, or `/vm-create mine`) asks for it.
    if (vm.network) vm.network.nics.push({ name: change.nic.name, ...(change.nic.ipaddress ? { ipaddress: change.nic.ipaddress } : {}) });
  },
};
