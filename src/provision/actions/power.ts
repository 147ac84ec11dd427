/** Day-2 action: power a VM the bot made on or off. */
import type { ProvisionContext } from '../context.js';
import { RunBusyError } from '../errors.js';
import { powerOnVm, stopVm } from '../vm-power.js';
import { vmIdOf } from '../../store/vm-record.js';
import { markVm } from '../vm-records.js';

/**
 * On, or off (ACPI power-off, killed after the stop timeout). One action per VM at a time; asking
 * for the state it is already in changes nothing. Says what it did.
 */
export async function power(ctx: ProvisionContext, runId: string, action: 'on' | 'off', actor: string): Promise<'done' | 'already'> {
  const { api, claims, records, runs } = ctx;
  await claims.take(runId, `VM of run ${runId} is busy; wait for it`);
  try {
    const run = runs.require(runId);
    if (run.state !== 'succeeded' || !run.keys.vmKey) throw new RunBusyError(`run ${runId} has no VM to power ${action} (it is ${run.state})`);
    // A deletion claimed on its record (at a lease's end) is under way even while the run is untouched.
    const vm = ctx.store.getVm(vmIdOf(runId));
    if (vm && vm.state !== 'live')
      throw new RunBusyError(`${vm.name} is ${vm.state === 'deleting' ? 'being deleted' : vm.state}; it was not powered ${action}`);
    const status = run.keys.machineKey ? (await api.machineStatus(run.keys.machineKey))?.status : undefined;
    const running = status === 'running' || status === 'starting';
    if ((action === 'on') === running) return 'already';
    if (action === 'on') {
      await powerOnVm(api, run.keys.vmKey);
      // Started from off, it runs with its configuration now: a resize no longer waits.
      if (vm?.needRestart)
        await markVm(ctx.store, runId, ['live'], (v) => {
          delete v.needRestart;
        });
    } else await stopVm(api, run.keys.vmKey, run.keys.machineKey, ctx.stopTiming);
    await records.record(run, actor, `vm.power_${action}`, 'ok', `VM key ${run.keys.vmKey}`);
    return 'done';
  } finally {
    await claims.drop(runId);
  }
}
