import type { Command } from 'commander';
import { planSpec } from '../plan/plan.js';
import { planJson, renderPlanText } from '../plan/render.js';
import { printJson } from './context.js';
import { parseCount, specsFromRecipe } from './recipe-input.js';

export function register(program: Command): void {
  program
    .command('plan')
    .description('print the ordered VergeOS API calls a recipe would make (no network)')
    .argument('<file>', 'recipe file')
    .option('--name <name>', 'VM name (or pattern with {n} for --count)')
    .option('--count <k>', 'how many VMs', parseCount, 1)
    .option('--json', 'print the exact request bodies as JSON (secrets as ***)')
    .action(async (file: string, opts: { name?: string; count: number; json?: boolean }) => {
      const { specs } = await specsFromRecipe(file, opts.name, opts.count);
      const plans = specs.map(planSpec);
      if (opts.json) printJson(plans.length === 1 ? planJson(plans[0]!) : { plans: plans.map((p) => planJson(p)) });
      else process.stdout.write(`${plans.map((p) => renderPlanText(p)).join('\n\n')}\n`);
    });
}
