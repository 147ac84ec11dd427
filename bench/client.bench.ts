/**
 * The VergeOS client's overhead: 1,000 create-VM calls, sequential and 8 in flight, through the
 * client versus bare `undici.request` to the same simulator in the same run. Target ratio ≤ 1.15.
 */
import { request } from 'undici';
import { VergeosClient } from '../src/vergeos/index.js';
import { SIM_DEFAULT_API_KEY } from '../src/sim/index.js';
import { inParallel, median, spawnSim, timed, type Benchmark, type BenchResult } from './harness.js';

const CALLS = 1_000;
const IN_FLIGHT = 8;
const ROUNDS = 9;
const TARGET = 1.15;

export const clientBenchmark: Benchmark = {
  name: 'VergeOS client vs bare undici.request',
  async run(): Promise<BenchResult[]> {
    const sim = await spawnSim();
    const headers = { authorization: `Bearer ${SIM_DEFAULT_API_KEY}`, 'content-type': 'application/json', accept: 'application/json' };
    const client = new VergeosClient({ url: sim.url, auth: { apiKey: SIM_DEFAULT_API_KEY }, maxInFlight: IN_FLIGHT });
    let serial = 0;
    const body = () => ({ name: `bench-${++serial}`, cpu_cores: 2, ram: 4096, guest_agent: 'true' as const, video: 'virtio' });
    const bare = async () => {
      const res = await request(`${sim.url}/api/v4/vms`, { method: 'POST', headers, body: JSON.stringify(body()) });
      const created = (await res.body.json()) as { $key: string; response: { machine: string } };
      if (res.statusCode !== 201 || !created.response.machine) throw new Error(`bare create failed: ${res.statusCode}`);
    };
    const viaClient = async () => {
      await client.createVm(body());
    };
    const reset = async () => {
      await (await request(`${sim.url}/__sim/reset`, { method: 'POST' })).body.text();
    };
    const shapes = {
      sequential: (call: () => Promise<void>) => inParallel(CALLS, 1, call),
      concurrent: (call: () => Promise<void>) => inParallel(CALLS, IN_FLIGHT, call),
    };
    const results: BenchResult[] = [];
    try {
      // Warm both paths (JIT, connections) before measuring.
      await shapes.concurrent(bare);
      await shapes.concurrent(viaClient);
      for (const [shape, run] of Object.entries(shapes)) {
        const bareTimes: number[] = [];
        const clientTimes: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          // Alternate who goes first so drift in the machine's load does not favour one side.
          const order = round % 2 === 0 ? (['bare', 'client'] as const) : (['client', 'bare'] as const);
          for (const who of order) {
            await reset();
            const ms = await timed(() => run(who === 'bare' ? bare : viaClient));
            (who === 'bare' ? bareTimes : clientTimes).push(ms);
          }
        }
        results.push({
          name: `${CALLS} create-VM calls, ${shape}${shape === 'concurrent' ? ` (${IN_FLIGHT} in flight)` : ''}`,
          value: median(clientTimes),
          baseline: median(bareTimes),
          unit: 'ms',
          target: TARGET,
          note: `median of ${ROUNDS} rounds`,
        });
      }
    } finally {
      await client.close();
      await sim.stop();
    }
    return results;
  },
};
