/**
 * Stopping a VM polls its status less and less often (the first interval, doubled up to 8×, never
 * past the ACPI timeout), on a clock the test moves: the simulator's power states run on it too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { VergeosSim } from '../../src/sim/index.js';
import type { VergeosClient } from '../../src/vergeos/client.js';
import { PollBackoff, type PollClock } from '../../src/provision/poll-backoff.js';
import { stopVm } from '../../src/provision/vm-power.js';
import { provisioningRig, recipeSpec, type ProvisioningRig } from '../helpers/core.js';
import { simAndClient } from '../helpers/vergeos.js';

const SECOND = 1_000;

/** A clock that moves only by the sleeps asked of it (each recorded). */
function manualClock(start: number): PollClock & { slept: number[]; at: number } {
  const clock = {
    at: start,
    slept: [] as number[],
    now: () => clock.at,
    sleep: async (ms: number) => {
      clock.slept.push(ms);
      clock.at += ms;
    },
  };
  return clock;
}

describe('stopVm', () => {
  let sim: VergeosSim;
  let client: VergeosClient;
  let close: () => Promise<void>;
  afterEach(() => close());

  const running = async (clock: { at: number }, stopMs: number) => {
    ({ sim, client, close } = await simAndClient({ clock: () => clock.at, timing: { importMs: 0, startMs: 0, stopMs } }));
    const vm = sim.state.createVm({ name: 'stop-me', cpu_cores: 1, ram: 1024 });
    sim.state.vmAction({ vm: vm.vmKey, action: 'poweron' });
    sim.requests.length = 0;
    return vm;
  };
  /** Seconds on the test's clock at each status poll. */
  const pollTimes = (clock: { at: number }, start: number) => {
    const times: number[] = [];
    sim.onRequest('GET /machine_status', () => void times.push((clock.at - start) / SECOND));
    return times;
  };

  it('a guest that stops after 10 s is polled at 0, 1, 3, 7 and 15 s (polled every second, it took 12 calls)', async () => {
    const clock = manualClock(1_000_000);
    const vm = await running(clock, 10 * SECOND);
    const times = pollTimes(clock, clock.at);
    await stopVm(client, vm.vmKey, vm.machineKey, { timeoutMs: 60 * SECOND, pollMs: SECOND, clock });
    expect(times).toEqual([0, 0, 1, 3, 7, 15]);
    expect(sim.requests.map((r) => r.route)).toEqual(['GET /machine_status', 'POST /vm_actions', ...Array.from({ length: 5 }, () => 'GET /machine_status')]);
    expect(sim.requestsTo('POST /vm_actions').map((r) => (r.body as { action: string }).action)).toEqual(['poweroff']);
  });

  it('a guest that ignores ACPI is polled at most every 8 s, looked at once more when the timeout is up, then killed', async () => {
    const clock = manualClock(1_000_000);
    const vm = await running(clock, 3_600 * SECOND);
    const times = pollTimes(clock, clock.at);
    await stopVm(client, vm.vmKey, vm.machineKey, { timeoutMs: 60 * SECOND, pollMs: SECOND, clock });
    expect(times).toEqual([0, 0, 1, 3, 7, 15, 23, 31, 39, 47, 55, 60]);
    expect(sim.requestsTo('POST /vm_actions').map((r) => (r.body as { action: string }).action)).toEqual(['poweroff', 'kill']);
  });
});

describe('PollBackoff', () => {
  it('ends a wait early when stopping, noticed between slices of the first interval', async () => {
    const clock = manualClock(0);
    const backoff = new PollBackoff(SECOND, 60 * SECOND, clock);
    await backoff.wait();
    await backoff.wait();
    let stopping = false;
    const slices = clock.slept.length;
    await backoff.wait(() => {
      const was = stopping;
      stopping = true; // a stop arrives during the first slice
      return was;
    });
    expect(clock.slept.slice(slices)).toEqual([SECOND]);
    expect(clock.at).toBe(4 * SECOND);
  });
});

describe('waiting for drives to import', () => {
  let rig: ProvisioningRig;
  afterEach(() => rig.close());

  it('polls less and less often: a 600 ms import at a 10 ms interval takes a handful of polls, not one every 10 ms', async () => {
    rig = await provisioningRig({ timing: { importMs: 600, startMs: 0, stopMs: 0 } }, { pollMs: 10 });
    const run = await rig.provisioner.createRun(await recipeSpec('cloud-image', 'import-01'), { actor: 'tester' });
    expect((await rig.provisioner.execute(run.id)).state).toBe('succeeded');
    const polls = rig.sim.requestsTo('GET /machine_drives').length;
    // Waits of 10, 20, 40, 80, 80 … ms: about 10 polls in 600 ms (a fixed 10 ms made about 50).
    expect(polls).toBeGreaterThan(1);
    expect(polls).toBeLessThanOrEqual(14);
  });
});
