/**
 * Bulk provisioning: 50 VMs (VM + 2 drives + 1 NIC each) at 8 in flight against the simulator
 * with 20 ms latency per call, through the real provisioner, store and audit log. Compared with
 * the ideal ceil(50/8) × 4 calls × 20 ms. Target ratio ≤ 1.3.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provisionBatch } from '../src/batches/batch.js';
import { Provisioner } from '../src/provision/provisioner.js';
import { parseSpec } from '../src/vmspec/validate.js';
import { FileAuditLog } from '../src/store/audit-file.js';
import { LowdbStore } from '../src/store/lowdb.js';
import { VergeosClient } from '../src/vergeos/client.js';
import { SIM_DEFAULT_API_KEY } from '../src/sim/index.js';
import { median, spawnSim, timed, type Benchmark } from './harness.js';

const VMS = 50;
const CONCURRENCY = 8;
const LATENCY_MS = 20;
const CALLS_PER_VM = 4;
const ROUNDS = 5;

export const provisionBenchmark: Benchmark = {
  name: 'bulk provisioning vs the ideal',
  async run() {
    const sim = await spawnSim(['--latency-ms', String(LATENCY_MS)]);
    const dir = await mkdtemp(join(tmpdir(), 'vmbot-bench-'));
    const store = await LowdbStore.open(dir);
    const audit = await FileAuditLog.open(dir);
    const vergeos = new VergeosClient({ url: sim.url, auth: { apiKey: SIM_DEFAULT_API_KEY }, maxInFlight: CONCURRENCY });
    const provisioner = new Provisioner({ vergeos, store, audit });
    try {
      const specsNamed = (prefix: string, count: number) =>
        Array.from({ length: count }, (_, i) => {
          const parsed = parseSpec({
            vm: { name: `${prefix}-${i + 1}`, cpu_cores: 2, ram: '4GiB' },
            drives: [
              { name: 'OS', disksize: '8GiB', preferred_tier: '2' },
              { name: 'Data', disksize: '2GiB', preferred_tier: '2' },
            ],
            nics: [{ name: 'lan', vnet: '4' }],
          });
          if (!parsed.ok) throw new Error('bench spec invalid');
          return parsed.value;
        });
      // Warm up (JIT, connections, lazily loaded modules) before measuring, as for the client.
      await provisionBatch(provisioner, specsNamed('warmup', 2 * CONCURRENCY), { actor: 'bench', concurrency: CONCURRENCY });
      const times: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const specs = specsNamed(`bench${round}`, VMS);
        let runs: Awaited<ReturnType<typeof provisionBatch>>['runs'] = [];
        times.push(
          await timed(async () => {
            runs = (await provisionBatch(provisioner, specs, { actor: 'bench', concurrency: CONCURRENCY })).runs;
          }),
        );
        const failed = runs.filter((r) => r.state !== 'succeeded').length;
        if (failed) throw new Error(`${failed} bench runs failed`);
      }
      const ms = median(times);
      const ideal = Math.ceil(VMS / CONCURRENCY) * CALLS_PER_VM * LATENCY_MS;
      return [
        {
          name: `${VMS} VMs × (VM + 2 drives + NIC), ${CONCURRENCY} at once, ${LATENCY_MS} ms per call`,
          value: ms,
          baseline: ideal,
          unit: 'ms',
          target: 1.3,
          note: `baseline = ceil(50/8) × 4 × 20 ms; median of ${ROUNDS} rounds`,
        },
      ];
    } finally {
      await vergeos.close();
      await audit.close();
      await store.close();
      await sim.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
