import { vergeosClientOptions } from '../config.js';
import { createLogger } from '../log.js';
import { VergeosClient } from '../vergeos/client.js';
import { PolicyLoadError } from '../policy/watch.js';
import { createBot, openPolicy } from '../slack/bot.js';
import { formatRecipeError, loadRecipes, recipeFilesIn } from '../vmspec/recipes.js';
import { CliExit, config, EXIT, openCore } from './context.js';

export async function startCommand(): Promise<void> {
  const env = config(['slack', 'vergeos']); // every missing or bad variable named before anything starts
  // Recipes and the policy are read before the store is opened: bad input touches nothing.
  const { recipes, errors } = await loadRecipes(await recipeFilesIn(env.MANIFESTS_DIR).catch(() => []));
  if (errors.length) throw new CliExit(EXIT.badInput, errors.map(formatRecipeError).join('\n'));
  let policy;
  try {
    policy = await openPolicy(env, createLogger({ level: env.LOG_LEVEL, format: env.LOG_FORMAT }));
  } catch (err) {
    if (err instanceof PolicyLoadError) throw new CliExit(EXIT.badInput, err.message);
    throw err;
  }
  // The client first: a setting it refuses leaves no store lock behind.
  const vergeos = new VergeosClient({ ...vergeosClientOptions(env), logger: createLogger({ level: env.LOG_LEVEL, format: env.LOG_FORMAT }) });
  const core = await openCore({ withVergeos: false }).catch(async (err: unknown) => {
    await vergeos.close();
    throw err;
  });
  const bot = createBot({ env: core.env, logger: core.logger, store: core.store, audit: core.audit, vergeos }, { recipes, policy });
  const { port, healthPort } = await bot.start();
  // One plain line on stdout for whoever started it (scripts wait for it), details in the log.
  process.stdout.write(
    port === undefined
      ? `vmbot connected to Slack (Socket Mode)${healthPort === undefined ? '' : `; /healthz, /readyz and /metrics on http://127.0.0.1:${healthPort}`}\n`
      : `vmbot listening on http://127.0.0.1:${port}/slack/events\n`,
  );
  core.logger.info(
    { port, healthPort, mode: core.env.SLACK_APP_TOKEN ? 'socket' : 'http', recipes: recipes.length },
    port === undefined ? 'vmbot connected to Slack (Socket Mode)' : `vmbot listening on port ${port} (/slack/events, /healthz, /readyz, /metrics)`,
  );

  // Graceful stop: new events get 503, runs finish the VergeOS call in flight and save it, the
  // store and audit log are flushed; what is unfinished resumes at the next start. A second
  // signal, or SHUTDOWN_TIMEOUT passing, ends the process at once (the journal already holds
  // every change, so nothing saved is lost).
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      core.logger.warn({ signal }, 'second signal: exiting now; unfinished runs resume at the next start');
      process.exit(1);
    }
    stopping = true;
    const started = Date.now();
    core.logger.info({ signal, timeoutMs: core.env.SHUTDOWN_TIMEOUT }, 'shutting down: finishing the VergeOS calls in flight');
    const deadline = setTimeout(() => {
      core.logger.error(
        { timeoutMs: core.env.SHUTDOWN_TIMEOUT, runsInFlight: bot.core.provisioner.inFlight },
        'shutdown took longer than SHUTDOWN_TIMEOUT; exiting now (unfinished runs resume at the next start)',
      );
      process.exit(1);
    }, core.env.SHUTDOWN_TIMEOUT);
    deadline.unref();
    await bot
      .stop({ flushSlackMs: Math.max(0, Math.min(5_000, core.env.SHUTDOWN_TIMEOUT - 2_000)) })
      .catch((err: unknown) => core.logger.error({ err: (err as Error).message }, 'stopping the bot failed'));
    await vergeos.close();
    await core.close();
    core.logger.info({ ms: Date.now() - started }, 'stopped');
    process.exit(0);
  };
  process.on('SIGINT', (signal) => void stop(signal));
  process.on('SIGTERM', (signal) => void stop(signal));
}
