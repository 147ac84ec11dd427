/** More flows against the bot as its own process (one workspace for the file). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkspace, waitFor, type Workspace } from '../../src/demo/workspace.js';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { fileRequest } from '../helpers/flows.js';

describe('the bot as a separate process, more flows', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await startWorkspace();
  });
  afterAll(() => ws.close());

  const file = (recipe: string, name: string) => fileRequest(ws, name, recipe);

  it('answers field errors and live options from the modal', async () => {
    await ws.driver.command(SLACK_SIM.requester, 'web-server');
    const modal = await waitFor(() => ws.slack.openView(SLACK_SIM.requester), 'the modal');
    const clusters = (await ws.driver.options(SLACK_SIM.requester, modal, 'cluster')).json as { options: Array<{ value: string }> };
    expect(clusters.options.map((o) => o.value)).toEqual(['1', '2']); // the disabled cluster is not offered
    const reply = await ws.driver.submit(SLACK_SIM.requester, modal, { name: 'legacy-db', ram: '2TiB' });
    expect(reply.json).toEqual({ response_action: 'errors', errors: { 'ram.0': 'RAM must be between 256 MiB and 1 TiB' } });
    ws.slack.closeView(modal.id);
  });

  it('a double click and a second lead start one run; a reject carries its reason', async () => {
    const approval = structuredClone(await file('web-server', 'e2e-race-01'));
    await Promise.all([
      ws.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve'),
      ws.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve'),
      ws.driver.clickMessageButton(SLACK_SIM.lead2, approval, 'request_approve'),
    ]);
    await waitFor(() => ws.slack.thread(approval.channel, approval.ts).find((m) => m.text.includes('is ready')), 'the summary', 20_000);
    expect([...ws.vergeos.state.table('vms').values()].filter((v) => v.name === 'e2e-race-01')).toHaveLength(1);
    expect(ws.vergeos.requestsTo('POST /vms').filter((r) => (r.body as { name: string }).name === 'e2e-race-01')).toHaveLength(1);

    const second = await file('iso-install', 'e2e-reject-01');
    await ws.driver.clickMessageButton(SLACK_SIM.lead2, second, 'request_reject');
    const modal = await waitFor(() => ws.slack.openView(SLACK_SIM.lead2), 'the reject modal');
    await ws.driver.submit(SLACK_SIM.lead2, modal, { reason: 'Use the lab pool instead' });
    const told = await waitFor(() => ws.slack.dms(SLACK_SIM.requester).find((m) => m.text.includes('rejected')), 'the requester DM');
    expect(told.text).toContain('was rejected by <@U0LEAD2>: Use the lab pool instead');
    expect(ws.vergeos.requestsTo('POST /vms').filter((r) => (r.body as { name: string }).name === 'e2e-reject-01')).toHaveLength(0);
  }, 60_000);
});
