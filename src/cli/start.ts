import { PolicyLoadError } from '../policy/watch.js';
import { createBot, openPolicy } from '../slack/bot.js';
import { formatRecipeError, loadRecipes, recipeFilesIn } from '../vmspec/recipes.js';
import { CliExit, config, EXIT, openCore } from './context.js';

export async function startCommand(): Promise<void> {
  config(['slack', 'vergeos']); // every missing or bad variable named before anything starts
  const core = await openCore({ withVergeos: true });
  const { recipes, errors } = await loadRecipes(await recipeFilesIn(core.env.MANIFESTS_DIR).catch(() => []));
  if (errors.length) {
    await core.close();
    throw new CliExit(EXIT.badInput, errors.map(formatRecipeError).join('\n'));
  }
  let policy;
  try {
    policy = await openPolicy(core.env, core.logger);
  } catch (err) {
    await core.close();
    if (err instanceof PolicyLoadError) throw new CliExit(EXIT.badInput, err.message);
    throw err;
  }
  const bot = createBot({ env: core.env, logger: core.logger, store: core.store, audit: core.audit, vergeos: core.vergeos!, provisioner: core.provisioner!, recipes, policy });
  const { port } = await bot.start();
  // One plain line on stdout for whoever started it (scripts wait for it), details in the log.
  process.stdout.write(port === undefined ? 'vmbot connected to Slack (Socket Mode)\n' : `vmbot listening on http://127.0.0.1:${port}/slack/events\n`);
  core.logger.info({ port, mode: core.env.SLACK_APP_TOKEN ? 'socket' : 'http', recipes: recipes.length }, port === undefined ? 'vmbot connected to Slack (Socket Mode)' : `vmbot listening on port ${port} (/slack/events, /healthz)`);
  // Runs in progress are resumable, so shutdown waits only briefly for them and for queued
  // Slack messages; whatever is unfinished continues at the next start.
  const stop = async () => {
    await bot.stop().catch(() => undefined);
    await Promise.race([bot.idle().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000).unref())]);
    await core.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
