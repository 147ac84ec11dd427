/** From a recipe file and flags to complete specs: the one path `plan` and `apply` share. */
import { formatRecipeError, loadRecipeFile, type Recipe } from '../vmspec/recipes.js';
import type { VmSpec } from '../vmspec/schema.js';
import { batchProblems, completeSpec, expandNames } from '../vmspec/validate.js';
import { CliExit, EXIT } from './exit.js';

export async function specsFromRecipe(file: string, name: string | undefined, count: number): Promise<{ recipe: Recipe; specs: VmSpec[] }> {
  const loaded = await loadRecipeFile(file);
  if (!loaded.ok) throw new CliExit(EXIT.badInput, loaded.errors.map(formatRecipeError).join('\n'));
  const recipe = loaded.recipe;
  const pattern = name ?? recipe.draft.vm.name;
  if (pattern === undefined) throw new CliExit(EXIT.badInput, `${file}:vm.name: the VM name is required (give it in the recipe or with --name)`);
  const names = expandNames(pattern, count);
  if (!names.ok) throw new CliExit(EXIT.badInput, names.errors.map((e) => `${file}:${e.path}: ${e.message}`).join('\n'));
  const specs: VmSpec[] = [];
  for (const n of names.value) {
    const spec = completeSpec(recipe.draft, n);
    if (!spec.ok) throw new CliExit(EXIT.badInput, spec.errors.map((e) => `${file}:${e.path}: ${e.message}`).join('\n'));
    specs.push(spec.value);
  }
  const shared = batchProblems(specs);
  if (shared.length) throw new CliExit(EXIT.badInput, shared.map((e) => `${file}:${e.path}: ${e.message}`).join('\n'));
  return { recipe, specs };
}
