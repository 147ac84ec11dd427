/**
 * `vmbot store migrate` of a DATA_DIR holding device VMs (audit records whose keys jsonb
 * reorders): the copied chain is verified inside the transaction; a copy that does not verify is
 * rolled back whole, and the migrate can then be run again.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { SIM_DEFAULT_API_KEY } from '../../src/sim/index.js';
import { LowdbStore } from '../../src/store/lowdb.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { usePostgresAndSim } from '../helpers/cli-postgres.js';
import { runVmbot } from '../helpers/cli.js';
import { MANIFESTS } from '../helpers/core.js';
import { fullSpec, pendingRequest } from '../helpers/full-spec.js';

describe('vmbot store migrate verifies the copied audit chain before committing', () => {
  const rig = usePostgresAndSim({ importMs: 20 });

  it('copies device VMs whose chain verifies; a copy altered on the way is rolled back with nothing left, and a retry succeeds', async () => {
    const dataDir = join(rig.dir, 'data');
    const env = { VERGEOS_URL: rig.sim.url, VERGEOS_API_KEY: SIM_DEFAULT_API_KEY, DATA_DIR: dataDir, MANIFESTS_DIR: MANIFESTS, VMBOT_POLL_INTERVAL: '20ms' };
    for (const [recipe, name] of [
      ['windows-11', 'mig-win'],
      ['gpu-workstation', 'mig-gpu'],
    ]) {
      const applied = await runVmbot(['apply', join(MANIFESTS, `${recipe}.yml`), '--name', name!, '--yes', '--json'], env);
      expect({ recipe, code: applied.code, stderr: applied.code === 0 ? '' : applied.stderr }).toEqual({ recipe, code: 0, stderr: '' });
    }
    const store = await LowdbStore.open(dataDir);
    for (let i = 0; i < 2; i++) await store.nextNumber('request');
    await store.insertRequest(pendingRequest('REQ-2', fullSpec('mig-req')));
    await store.close();
    const lines = (await readFile(join(dataDir, 'audit.jsonl'), 'utf8')).trim().split('\n');
    const device = lines.map((l) => JSON.parse(l) as { seq: number; keys?: Record<string, string> }).find((r) => r.keys && 'device' in r.keys);
    expect(Object.keys(device!.keys!)).toEqual(['device', 'uuid']);

    const url = await rig.postgres.database();
    const shown = url.replace(':vmbot-test@', ':***@');
    // The fault: the schema made ahead, with a trigger that alters one audit row as it is copied
    // (as a faulty driver, proxy or disk might). The source file itself verifies.
    await (await PostgresStore.open(url)).close();
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      await db.query(`
        CREATE FUNCTION alter_in_flight() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.seq = ${device!.seq} THEN NEW.record := jsonb_set(NEW.record, '{keys,device}', '"9999"'); END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER alter_in_flight BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION alter_in_flight();
      `);
      const failed = await runVmbot(['store', 'migrate', '--from', dataDir, '--to', url], {});
      expect(failed.code).toBe(1);
      expect(failed.stdout).toBe('');
      expect(failed.stderr).toBe(
        `the audit chain copied into ${shown} does not verify at seq ${device!.seq}: its contents were changed after it was written; the copy was rolled back. Nothing was copied.\n`,
      );
      const left = await db.query<{ requests: string; runs: string; audit: string; called: boolean }>(
        `SELECT (SELECT count(*) FROM requests) AS requests, (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM audit) AS audit,
                (SELECT is_called FROM vmbot_seq_request) AS called`,
      );
      expect(left.rows[0]).toEqual({ requests: '0', runs: '0', audit: '0', called: false });

      await db.query('DROP TRIGGER alter_in_flight ON audit');
      const migrated = await runVmbot(['store', 'migrate', '--from', dataDir, '--to', url], {});
      expect(migrated.stderr).toBe('');
      expect(migrated.code).toBe(0);
      expect(migrated.stdout).toBe(
        `Copied 1 requests, 2 runs, 2 VMs and ${lines.length} audit records from ${dataDir} to ${shown}; REQ numbers continue after REQ-2; the audit chain verifies (${lines.length} records).\n` +
          `Start the bot with DATABASE_URL set; ${dataDir} is no longer read (keep it as a backup).\n`,
      );
      const verified = await runVmbot(['audit', 'verify'], { DATABASE_URL: url });
      expect(verified.stdout).toBe(`${shown} (table audit, seq): ${lines.length} records, chain intact\n`);
      expect(verified.code).toBe(0);
    } finally {
      await db.end();
    }
  }, 90_000);
});
