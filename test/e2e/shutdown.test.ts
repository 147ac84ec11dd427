/** SIGTERM while a VergeOS call is in flight: the call finishes and is saved, the bot exits in time, the next start finishes the run. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkspace, waitFor, type Workspace } from '../../src/demo/workspace.js';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { LowdbStore } from '../../src/store/lowdb.js';
import { AUDIT_FILE, readAuditRecords, verifyAuditLog } from '../../src/store/audit.js';
import { fileRequest } from '../helpers/flows.js';
import { join } from 'node:path';

describe('graceful stop', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await startWorkspace({ keepData: false, env: { SHUTDOWN_TIMEOUT: '15s' } });
  });
  afterAll(() => ws.close());

  it('SIGTERM mid-run: new events get 503, the drive POST in flight completes and is saved, exit 0 in time; the restart finishes with no duplicate', async () => {
    const approval = await fileRequest(ws, 'sigterm-01');
    // The drive POST takes 1.5 s, long enough to stop the bot while it is on the wire.
    ws.vergeos.faults.add({ route: 'POST /machine_drives', latencyMs: 1_500 });
    await ws.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await waitFor(() => ws.vergeos.requestsTo('POST /machine_drives').length === 1, 'the drive POST on the wire');

    const exited = new Promise<{ code: number | null; ms: number }>((resolve) => {
      const sent = Date.now();
      ws.bot.child.once('exit', (code) => resolve({ code, ms: Date.now() - sent }));
    });
    ws.bot.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const late = await ws.driver.command(SLACK_SIM.requester, 'help');
    expect(late.status).toBe(503);
    expect(late.body).toBe('{"ok":false,"error":"shutting down"}');

    const { code, ms } = await exited;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(15_000);
    // The POST was answered (not cut off) and its key saved; nothing after it was sent.
    expect(ws.vergeos.requestsTo('POST /machine_drives').map((r) => r.outcome)).toEqual([201]);
    expect(ws.vergeos.requestsTo('POST /machine_nics')).toHaveLength(0);
    const saved = await LowdbStore.open(ws.dataDir, { readOnly: true });
    const run = saved.listRuns().find((r) => r.spec.vm.name === 'sigterm-01')!;
    await saved.close();
    expect(run.state).toBe('running');
    expect(run.steps['drive:0']).toMatchObject({ status: 'done', key: expect.stringMatching(/^\d+$/) });
    expect(run.steps['nic:0']?.status).toBe('pending');
    const actions: string[] = [];
    for await (const record of readAuditRecords(join(ws.dataDir, AUDIT_FILE))) actions.push(record.action);
    expect(actions).toContain('run.paused');

    ws.vergeos.faults.clear();
    await ws.startBot();
    await waitFor(() => ws.slack.thread(approval.channel, approval.ts).find((m) => m.text.includes('is ready')), 'the summary after the restart', 20_000);
    expect([...ws.vergeos.state.table('vms').values()].filter((v) => v.name === 'sigterm-01')).toHaveLength(1);
    expect(ws.vergeos.requestsTo('POST /vms').filter((r) => (r.body as { name: string }).name === 'sigterm-01')).toHaveLength(1);
    expect(ws.vergeos.requestsTo('POST /machine_drives')).toHaveLength(1);
    expect(ws.vergeos.requestsTo('POST /machine_nics')).toHaveLength(1);
    expect((await verifyAuditLog(join(ws.dataDir, AUDIT_FILE))).ok).toBe(true);
  }, 60_000);
});
