/** `vmbot store migrate`: a lowdb DATA_DIR copied into PostgreSQL, records and audit hashes intact. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SIM_DEFAULT_API_KEY } from '../../src/sim/index.js';
import { LowdbStore } from '../../src/store/lowdb.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { MANIFESTS } from '../helpers/core.js';
import { usePostgresAndSim } from '../helpers/cli-postgres.js';
import { runVmbot } from '../helpers/cli.js';
import { fullSpec, pendingRequest } from '../helpers/full-spec.js';

describe('vmbot store migrate', () => {
  const rig = usePostgresAndSim({ importMs: 50 });

  it('copies requests, runs, the REQ counter and the audit log; the chain verifies there; a second copy is refused', async () => {
    const dataDir = join(rig.dir, 'data');
    const env = { VERGEOS_URL: rig.sim.url, VERGEOS_API_KEY: SIM_DEFAULT_API_KEY, DATA_DIR: dataDir, MANIFESTS_DIR: MANIFESTS, VMBOT_POLL_INTERVAL: '20ms' };
    expect((await runVmbot(['apply', join(MANIFESTS, 'web-server.yml'), '--name', 'mig-01', '--yes', '--json'], env)).code).toBe(0);
    expect((await runVmbot(['apply', join(MANIFESTS, 'iso-install.yml'), '--name', 'mig-{n}', '--count', '2', '--yes', '--json'], env)).code).toBe(0);
    const store = await LowdbStore.open(dataDir);
    for (let i = 0; i < 3; i++) await store.nextNumber('request');
    await store.insertRequest(pendingRequest('REQ-3', fullSpec('mig-req')));
    const runIds = store.listRuns().map((r) => r.id);
    await store.close();

    const url = await rig.postgres.database();
    const migrated = await runVmbot(['store', 'migrate', '--from', dataDir, '--to', url], {});
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(
      /^Copied 1 requests, 3 runs, 3 VMs and \d+ audit records from .+ to postgres:\/\/vmbot:\*\*\*@127\.0\.0\.1:\d+\/t_[0-9a-f]+; REQ numbers continue after REQ-3; the audit chain verifies \(\d+ records\)\.\n/,
    );

    const pgStore = await PostgresStore.open(url);
    try {
      expect(
        pgStore
          .listRuns()
          .map((r) => r.id)
          .sort(),
      ).toEqual([...runIds].sort());
      expect(pgStore.listRuns().every((r) => r.state === 'succeeded')).toBe(true);
      expect(pgStore.getRequest('REQ-3')).toMatchObject({ state: 'pending', requester: 'U0REQUESTER' });
      expect(await pgStore.nextNumber('request')).toBe(4);
    } finally {
      await pgStore.close();
    }
    const verify = await runVmbot(['audit', 'verify'], { DATABASE_URL: url });
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/records, chain intact\n$/);
    const runs = await runVmbot(['runs', '--json'], { DATABASE_URL: url, DATA_DIR: join(rig.dir, 'unused') });
    expect((JSON.parse(runs.stdout) as Array<{ name: string }>).map((r) => r.name).sort()).toEqual(['mig-01', 'mig-1', 'mig-2']);

    const again = await runVmbot(['store', 'migrate', '--from', dataDir, '--to', url], {});
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds records; migrate into an empty database\. Nothing was copied\.\n$/);
  }, 60_000);
});
