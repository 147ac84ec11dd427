/**
 * `vmbot recipes`: what can be asked for — the YAML recipes in MANIFESTS_DIR and, with VERGEOS_URL,
 * the VM recipes VergeOS holds downloaded (only the catalogs VERGEOS_RECIPE_CATALOGS names, when
 * set). Without VergeOS, or when it does not answer, the YAML ones are still listed, and the
 * command says why the others are missing (exit 1 when VergeOS was asked and failed).
 */
import { vergeosClientOptions } from '../config.js';
import { loadRecipes } from '../vmspec/recipes.js';
import { isVergeosError, operatorMessage, VergeosClient } from '../vergeos/index.js';
import { withPurpose } from '../vergeos/purpose.js';
import type { VmRecipe } from '../vergeos/recipe-types.js';
import { CliExit, config, EXIT, printJson } from './context.js';
import { manifestFiles } from './validate.js';

/** One line of the listing, from either source. */
export interface RecipeListing {
  source: 'yaml' | 'vergeos';
  /** The YAML recipe's id, or the VergeOS recipe's name. */
  name: string;
  title: string;
  /** VergeOS's catalog (null for YAML). */
  catalog: string | null;
  /** VergeOS's version and build (null for YAML). */
  version: string | null;
  /** Where it is: the YAML file, or the VergeOS recipe's 40-hex key. */
  ref: string;
}

function fromVergeos(r: VmRecipe): RecipeListing {
  return {
    source: 'vergeos',
    name: r.name,
    title: r.description || r.name,
    catalog: r.catalog || null,
    version: [r.version, r.build && `build ${r.build}`].filter(Boolean).join(', ') || null,
    ref: r.key,
  };
}

export async function recipesCommand(opts: { json?: boolean }): Promise<void> {
  const env = config([]);
  const { recipes, errors } = await loadRecipes(await manifestFiles(env.MANIFESTS_DIR));
  const listing: RecipeListing[] = recipes.map((r) => ({ source: 'yaml', name: r.id, title: r.title, catalog: null, version: null, ref: r.file }));
  let problem: string | undefined;
  if (env.VERGEOS_URL) {
    const vergeos = new VergeosClient(vergeosClientOptions(config(['vergeos'])));
    try {
      const found = await withPurpose('user', () => vergeos.listVmRecipes({ catalogs: env.VERGEOS_RECIPE_CATALOGS }));
      listing.push(...found.map(fromVergeos));
    } catch (err) {
      problem = `VergeOS's recipes are not listed: ${isVergeosError(err) ? operatorMessage(err) : (err as Error).message}`;
    } finally {
      await vergeos.close();
    }
  }
  const notes = [
    ...errors.map((e) => `${e.file}:${e.path}: ${e.message} (not listed; see vmbot validate)`),
    ...(env.VERGEOS_URL ? [] : ["VERGEOS_URL is not set: only the YAML recipes are listed (VergeOS's own recipes come from it)."]),
  ];
  if (opts.json) printJson({ recipes: listing, ...(problem ? { error: problem } : {}) });
  else process.stdout.write(table(listing));
  for (const note of notes) process.stderr.write(`${note}\n`);
  if (problem) throw new CliExit(EXIT.failed, problem);
}

function table(rows: RecipeListing[]): string {
  if (!rows.length) return 'No recipes.\n';
  const head = ['SOURCE', 'NAME', 'CATALOG', 'VERSION', 'TITLE'];
  const cells = rows.map((r) => [r.source, r.name, r.catalog ?? '-', r.version ?? '-', r.title]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
  return [line(head), ...cells.map(line)].join('\n') + '\n';
}
