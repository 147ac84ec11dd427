/** The bot as its own process on the PostgreSQL store: a request from Slack to a VM, kept in the database across a crash. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkspace, waitFor, type Workspace } from '../../src/demo/workspace.js';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { runVmbot } from '../helpers/cli.js';
import { fileRequest } from '../helpers/flows.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

describe('vmbot start with DATABASE_URL', () => {
  let postgres: TestPostgres;
  let ws: Workspace;
  let url: string;
  beforeAll(async () => {
    postgres = await startPostgres();
    url = await postgres.database();
    ws = await startWorkspace({ env: { DATABASE_URL: url } });
  });
  afterAll(async () => {
    await ws.close();
    await postgres.stop();
  });

  it('files, approves and provisions through PostgreSQL; a crash and restart keep every record', async () => {
    const approval = await fileRequest(ws, 'pg-web-01');
    await ws.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await waitFor(() => ws.slack.thread(approval.channel, approval.ts).find((m) => m.text.includes('is ready')), 'the summary', 30_000).catch((err: Error) => {
      throw new Error(
        `${err.message}\nthe bot's log:\n${ws.bot.log()}\nthe thread: ${JSON.stringify(ws.slack.thread(approval.channel, approval.ts).map((m) => m.text))}`,
      );
    });
    expect(existsSync(join(ws.dataDir, 'vmbot.json'))).toBe(false);
    expect(existsSync(join(ws.dataDir, 'audit.jsonl'))).toBe(false);

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const requests = (await db.query<{ id: string; state: string }>('SELECT id, state FROM requests')).rows;
      expect(requests).toEqual([{ id: 'REQ-1', state: 'succeeded' }]);
      const runs = (await db.query<{ state: string; data: { keys: { vmKey?: string } } }>('SELECT state, data FROM runs')).rows;
      expect(runs.map((r) => r.state)).toEqual(['succeeded']);
      expect(runs[0]!.data.keys.vmKey).toBe(String([...ws.vergeos.state.table('vms').values()].find((v) => v.name === 'pg-web-01')!.$key));

      await ws.killBot();
      await ws.startBot();
      const status = await ws.driver.command(SLACK_SIM.requester, 'status REQ-1');
      expect(JSON.stringify(status.json)).toContain('pg-web-01');
      const second = await fileRequest(ws, 'pg-web-02');
      expect(second.text).toContain('REQ-2');
      // The audit trail is in the database, one chain across both processes' lives.
      const verified = await runVmbot(['audit', 'verify'], { DATABASE_URL: url, DATA_DIR: ws.dataDir });
      expect(verified.code).toBe(0);
      expect(verified.stdout).toMatch(/^postgres:\/\/vmbot:\*\*\*@127\.0\.0\.1:\d+\/t_[0-9a-f]+ \(table audit, seq\): \d+ records, chain intact\n$/);
      const exported = await runVmbot(['audit'], { DATABASE_URL: url, DATA_DIR: ws.dataDir });
      const actions = exported.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { action: string }).action);
      expect(actions).toEqual(expect.arrayContaining(['request.created', 'request.approved', 'run.succeeded']));
    } finally {
      await db.end();
    }
  }, 60_000);
});
