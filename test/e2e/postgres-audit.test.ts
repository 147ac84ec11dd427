/**
 * The audit chain on PostgreSQL, through the real CLI against the VergeOS simulator: jsonb keeps
 * an object's keys in its own order, so the chain must not depend on the order it finds them in.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/store/audit.js';
import { readPostgresAudit } from '../../src/store/postgres/audit.js';
import { SIM_DEFAULT_API_KEY } from '../../src/sim/index.js';
import { usePostgresAndSim } from '../helpers/cli-postgres.js';
import { runVmbot } from '../helpers/cli.js';
import { MANIFESTS } from '../helpers/core.js';

const RECIPES = readdirSync(MANIFESTS)
  .filter((f) => f.endsWith('.yml') && f !== 'policy.example.yml')
  .sort();

describe('vmbot audit verify with DATABASE_URL', () => {
  const rig = usePostgresAndSim({ importMs: 20 });

  it('verifies after applying every shipped recipe (device VMs too), and still finds an edited detail or keys value', async () => {
    expect(RECIPES).toEqual(expect.arrayContaining(['windows-11.yml', 'gpu-workstation.yml']));
    const url = await rig.postgres.database();
    const env = {
      VERGEOS_URL: rig.sim.url,
      VERGEOS_API_KEY: SIM_DEFAULT_API_KEY,
      DATABASE_URL: url,
      DATA_DIR: join(rig.dir, 'unused'),
      MANIFESTS_DIR: MANIFESTS,
      VMBOT_POLL_INTERVAL: '20ms',
    };
    for (const [i, recipe] of RECIPES.entries()) {
      const applied = await runVmbot(['apply', join(MANIFESTS, recipe), '--name', `pga-${i}`, '--yes', '--json'], env);
      expect({ recipe, code: applied.code, stderr: applied.code === 0 ? '' : applied.stderr }).toEqual({ recipe, code: 0, stderr: '' });
    }

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      // The records that made the bug: more than one key, stored by jsonb in an order of its own.
      const { rows } = await db.query<{ seq: string; keys: Record<string, string> }>(
        `SELECT seq, record->'keys' AS keys FROM audit WHERE record ? 'keys' AND (SELECT count(*) FROM jsonb_object_keys(record->'keys')) > 1 ORDER BY seq`,
      );
      const device = rows.find((r) => 'device' in r.keys);
      expect(device).toBeDefined();
      expect(Object.keys(device!.keys)).toEqual(['uuid', 'device']);

      const verified = await runVmbot(['audit', 'verify'], env);
      expect(verified.stderr).toBe('');
      expect(verified.code).toBe(0);
      const total = (await db.query<{ n: string }>('SELECT count(*) AS n FROM audit')).rows[0]!.n;
      expect(verified.stdout).toBe(`${url.replace(':vmbot-test@', ':***@')} (table audit, seq): ${total} records, chain intact\n`);

      // A keys value changed: found, naming the row.
      const seq = Number(device!.seq);
      await db.query(`UPDATE audit SET record = jsonb_set(record, '{keys,device}', '"99"') WHERE seq = $1`, [seq]);
      const keysEdited = await runVmbot(['audit', 'verify'], env);
      expect(keysEdited.code).toBe(1);
      expect(keysEdited.stderr).toBe(
        `${url.replace(':vmbot-test@', ':***@')} (table audit, seq):${seq}: its contents were changed after it was written (the ${seq - 1} records before it verify)\n`,
      );

      // Two values swapped between keys: the same keys, the same values, still an edit.
      await db.query(
        `UPDATE audit SET record = jsonb_set(record, '{keys}', jsonb_build_object('device', record->'keys'->>'uuid', 'uuid', $2::text)) WHERE seq = $1`,
        [seq, device!.keys.device],
      );
      const changed = (line: number) => ({ ok: false, records: line - 1, line, problem: 'its contents were changed after it was written' });
      expect(await verifyChain(readPostgresAudit(url))).toEqual(changed(seq));

      // Put back as it was, in any order: verifies again.
      await db.query(`UPDATE audit SET record = jsonb_set(record, '{keys}', $2::jsonb) WHERE seq = $1`, [seq, JSON.stringify(device!.keys)]);
      expect(await verifyChain(readPostgresAudit(url))).toEqual({ ok: true, records: Number(total) });

      // A detail changed: found too.
      await db.query(`UPDATE audit SET record = jsonb_set(record, '{detail}', '"edited"') WHERE seq = 2`);
      expect(await verifyChain(readPostgresAudit(url))).toEqual(changed(2));
    } finally {
      await db.end();
    }
  }, 120_000);
});
