/**
 * `npm run bench`: every benchmark, each measured against a baseline in the same run, printed as
 * ratios with their targets. Exits 1 if any ratio misses its target.
 */
import { auditBenchmark } from './audit.bench.js';
import { budgetBenchmark } from './budget.bench.js';
import { clientBenchmark } from './client.bench.js';
import { pacingBenchmark } from './pacing.bench.js';
import { provisionBenchmark } from './provision.bench.js';
import { slackBenchmark } from './slack.bench.js';
import { replicasBenchmark } from './replicas.bench.js';
import { startupBenchmark } from './startup.bench.js';
import { historyBenchmark } from './history.bench.js';
import type { Benchmark } from './harness.js';

const benchmarks: Benchmark[] = [
  clientBenchmark,
  provisionBenchmark,
  auditBenchmark,
  slackBenchmark,
  pacingBenchmark,
  startupBenchmark,
  replicasBenchmark,
  historyBenchmark,
  budgetBenchmark,
];
const only = process.argv[2];

let missed = 0;
for (const bench of benchmarks) {
  if (only && !bench.name.toLowerCase().includes(only.toLowerCase())) continue;
  process.stdout.write(`\n## ${bench.name}\n`);
  for (const r of await bench.run()) {
    const ratio = r.value / r.baseline;
    const ok = ratio <= r.target;
    if (!ok) missed++;
    const verdict = Number.isFinite(r.target) ? (ok ? 'PASS' : 'MISS') : 'INFO';
    process.stdout.write(
      `${verdict}  ${r.name}: ${r.value.toFixed(1)} ${r.unit} vs baseline ${r.baseline.toFixed(1)} ${r.unit} → ratio ${ratio.toFixed(3)} ${Number.isFinite(r.target) ? `(target ≤ ${r.target})` : '(no target)'}${r.note ? `  [${r.note}]` : ''}\n`,
    );
  }
}
process.stdout.write(missed ? `\n${missed} target(s) missed\n` : '\nall targets met\n');
process.exit(missed ? 1 : 0);
