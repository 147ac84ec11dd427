import { planSpec } from '../plan/plan.js';
import { planJson, renderPlanText } from '../plan/render.js';
import { printJson } from './context.js';
import { specsFromRecipe } from './recipe-input.js';

export async function planCommand(file: string, opts: { name?: string; count: number; json?: boolean }): Promise<void> {
  const { specs } = await specsFromRecipe(file, opts.name, opts.count);
  const plans = specs.map(planSpec);
  if (opts.json) printJson(plans.length === 1 ? planJson(plans[0]!) : { plans: plans.map((p) => planJson(p)) });
  else process.stdout.write(`${plans.map((p) => renderPlanText(p)).join('\n\n')}\n`);
}
