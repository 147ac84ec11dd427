import { formatRecipeError, loadRecipes, recipeFilesIn } from '../vmspec/recipes.js';
import { CliExit, config, EXIT } from './context.js';

export async function validateCommand(files: string[]): Promise<void> {
  const targets = files.length ? files : await recipeFilesIn(config([]).MANIFESTS_DIR);
  const { recipes, errors } = await loadRecipes(targets);
  for (const r of recipes) process.stdout.write(`ok    ${r.file} (${r.id}: ${r.title})\n`);
  if (errors.length) {
    throw new CliExit(EXIT.failed, errors.map(formatRecipeError).join('\n'));
  }
}
