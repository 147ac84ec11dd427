/** What CLI commands share: exit codes, opening the store/audit/VergeOS from the environment. */
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { ConfigError, loadConfig, vergeosClientOptions, type ConfigNeed, type Env } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import type { Provisioner } from '../provision/provisioner.js';
import { compose, type Core as ComposedCore } from '../compose.js';
import type { AuditLog } from '../store/audit.js';
import { type Store, StoreError } from '../store/store.js';
import { openAudit, openStore } from '../store/open.js';
import { VergeosClient } from '../vergeos/client.js';
import { CliExit, EXIT } from './exit.js';

export { CliExit, EXIT } from './exit.js';

export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

export function config(needs: ConfigNeed[]): Env {
  try {
    return loadConfig(process.env, needs);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliExit(EXIT.badInput, err.message);
    throw err;
  }
}

export interface Core {
  env: Env;
  logger: Logger;
  store: Store;
  audit: AuditLog;
  vergeos: VergeosClient | undefined;
  /** The composed core (provisioner, requests, leases, workflows) when VergeOS is configured. */
  core: ComposedCore | undefined;
  provisioner: Provisioner | undefined;
  close(): Promise<void>;
}

/** The store and audit log (+ VergeOS and the composed core when `withVergeos`). Always close it. */
export async function openCore(options: { withVergeos: boolean; readOnly?: boolean }): Promise<Core> {
  const env = config(options.withVergeos ? ['vergeos'] : []);
  const logger = createLogger({ level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  // Built before the store is opened: a client setting it refuses leaves no lock behind.
  const vergeos = options.withVergeos ? new VergeosClient({ ...vergeosClientOptions(env), logger }) : undefined;
  const opening = { readOnly: options.readOnly ?? false, logger, onNote: (note: string) => process.stderr.write(`note: ${note}\n`) };
  let store: Store;
  try {
    store = await openStore(env, opening);
  } catch (err) {
    await vergeos?.close();
    if (err instanceof StoreError) throw new CliExit(err.exitCode, err.message);
    throw err;
  }
  let audit: AuditLog;
  try {
    audit = await openAudit(env, opening);
  } catch (err) {
    await store.close(); // never leave the writer lock behind
    await vergeos?.close();
    if (err instanceof StoreError) throw new CliExit(err.exitCode, err.message);
    throw err;
  }
  const core = vergeos ? compose({ env, logger, store, audit, vergeos }) : undefined;
  return {
    env,
    logger,
    store,
    audit,
    vergeos,
    core,
    provisioner: core?.provisioner,
    async close() {
      await vergeos?.close();
      await audit.close();
      await store.close();
    },
  };
}

/** Ask on the terminal; without one, refuse rather than assume yes. */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new CliExit(EXIT.badInput, 'not a terminal, so nobody can confirm: pass --yes to go ahead');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
