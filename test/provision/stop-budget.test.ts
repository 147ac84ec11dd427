/** A stop does not wait for the request budget: a run's call still waiting for a token gives up unsent, and the next start finishes the run once. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Provisioner } from '../../src/provision/provisioner.js';
import { RequestBudget } from '../../src/vergeos/budget.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { provisioningRig, recipeSpec, type ProvisioningRig } from '../helpers/core.js';

describe('stopping while a run waits for the request budget', () => {
  let rig: ProvisioningRig;
  afterEach(() => rig.close());

  it('stops at once with the waiting step unsent and in flight; the next process looks it up, sends it, and the VM is made once', async () => {
    const clock = new ManualClock();
    // Three calls at once, then one an hour: web-server's fourth call (power on) waits.
    const budget = new RequestBudget({ perHour: 7, burst: 3, clock });
    rig = await provisioningRig({}, { client: { budget } });
    const run = await rig.provisioner.createRun(await recipeSpec('web-server', 'stop-wait-01'), { actor: 'U0ALICE' });
    const executing = rig.provisioner.execute(run.id);
    await vi.waitFor(() => expect(budget.waiting).toBe(1));
    expect(rig.sim.requests.map((r) => r.route)).toEqual(['POST /vms', 'POST /machine_drives', 'POST /machine_nics']);

    await rig.provisioner.stop();
    const stopped = await executing;
    expect(stopped.state).toBe('running');
    expect(stopped.steps['power_on']).toMatchObject({ status: 'in_flight', attempts: 1 });
    expect(budget.waiting).toBe(0);
    expect(rig.sim.requests).toHaveLength(3);

    // The next process, an hour on: the power-on is looked up (not running), then sent, once.
    await rig.restart();
    await clock.advance(3_600_000);
    const done = await new Provisioner({ vergeos: rig.client, store: rig.store, audit: rig.audit }).execute(run.id);
    expect(done.state).toBe('succeeded');
    expect(rig.sim.requestsTo('POST /vm_actions').map((r) => (r.body as { action: string }).action)).toEqual(['poweron']);
    expect(rig.sim.requestsTo('POST /vms')).toHaveLength(1);
  });
});
