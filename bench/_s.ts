import { slackBenchmark } from './slack.bench.js';
const r = await slackBenchmark.run();
for (const x of r) console.log(x.name, x.value.toFixed(1), x.baseline.toFixed(1));
process.exit(0);
