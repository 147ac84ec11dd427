/** `/vm-create mine` reads the power states and the addresses of all the VMs it shows in one VergeOS call each, not one per VM. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { provisionBatch } from '../../../../src/batches/batch.js';
import { SLACK_SIM } from '../../../../src/sim/slack-sim.js';
import { parseSpec } from '../../../../src/vmspec/validate.js';
import { startRig, textOf, until, type Rig } from '../../../helpers/bot.js';

describe('/vm-create mine', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.close());

  it('shows four VMs with their power states from one machine_status call and their addresses from one machine_nics call', async () => {
    const specs = ['mine-01', 'mine-02', 'mine-03', 'mine-04'].map((name) => {
      const parsed = parseSpec({ vm: { name, cpu_cores: 1, ram: '1GiB' }, nics: [{ name: 'lan', vnet: '4' }], power_on: true });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      return parsed.value;
    });
    const made = await provisionBatch(rig.bot.core.provisioner, specs, { actor: SLACK_SIM.requester, concurrency: 4 });
    expect(made.succeeded).toBe(4);
    const stopped = made.runs.find((r) => r.spec.vm.name === 'mine-03')!;
    rig.vergeos.state.vmAction({ vm: stopped.keys.vmKey!, action: 'kill' });

    const before = rig.slack.ephemerals.length;
    const mark = rig.vergeos.requests.length;
    await rig.driver.command(SLACK_SIM.requester, 'mine');
    const list = await until(() => rig.slack.ephemerals.slice(before).find((e) => e.user === SLACK_SIM.requester), 'the list');
    for (const name of ['mine-01', 'mine-02', 'mine-04']) expect(textOf(list)).toContain(`*${name}* · running`);
    expect(textOf(list)).toContain('*mine-03* · stopped');
    const statusCalls = rig.vergeos.requests.slice(mark).filter((r) => r.route === 'GET /machine_status');
    expect(statusCalls).toHaveLength(1);
    const nicCalls = rig.vergeos.requests.slice(mark).filter((r) => r.route.startsWith('GET /machine_nics'));
    expect(nicCalls).toHaveLength(1);
    expect([...(nicCalls[0]!.query.filter ?? '').matchAll(/machine eq (\d+)/g)].map((m) => m[1]).sort()).toEqual(
      made.runs.map((r) => r.keys.machineKey!).sort(),
    );
    expect([...(statusCalls[0]!.query.filter ?? '').matchAll(/machine eq (\d+)/g)].map((m) => m[1]).sort()).toEqual(
      made.runs.map((r) => r.keys.machineKey!).sort(),
    );
  });
});
