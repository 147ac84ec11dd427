import { formatRecipeError, loadRecipes, recipeFilesIn } from '../vmspec/recipes.js';
import { CliExit, config, EXIT } from './context.js';

/** The recipe files in MANIFESTS_DIR; a folder that cannot be read is bad input (exit 2), not a failure. */
export async function manifestFiles(dir: string): Promise<string[]> {
  try {
    return await recipeFilesIn(dir);
  } catch (err) {
    throw new CliExit(EXIT.badInput, `${dir}: cannot read the recipes folder (MANIFESTS_DIR) (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export async function validateCommand(files: string[]): Promise<void> {
  const targets = files.length ? files : await manifestFiles(config([]).MANIFESTS_DIR);
  const { recipes, errors } = await loadRecipes(targets);
  for (const r of recipes) process.stdout.write(`ok    ${r.file} (${r.id}: ${r.title})\n`);
  // A recipe that does not validate is bad input (exit 2), as for plan and apply.
  if (errors.length) throw new CliExit(EXIT.badInput, errors.map(formatRecipeError).join('\n'));
}
