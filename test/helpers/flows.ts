/** Steps several suites take the same way, against any workspace (in-process rig or the bot as a process). */
import { expect } from 'vitest';
import { waitFor } from '../../src/demo/workspace.js';
import type { SlackDriver } from '../../src/sim/slack-driver.js';
import { SLACK_SIM, type SlackMessage, type SlackSim } from '../../src/sim/slack-sim.js';

/** The requester opens `/vm-create RECIPE`, names the VM and submits; resolves with the approval message. */
export async function fileRequest(ws: { driver: SlackDriver; slack: SlackSim }, name: string, recipe = 'web-server'): Promise<SlackMessage> {
  const before = ws.slack.channelMessages(SLACK_SIM.approvalChannel).length;
  await ws.driver.command(SLACK_SIM.requester, recipe);
  const modal = await waitFor(() => ws.slack.openView(SLACK_SIM.requester), 'the modal');
  const reply = await ws.driver.submit(SLACK_SIM.requester, modal, { name });
  expect(reply.body).toBe('');
  return waitFor(() => ws.slack.channelMessages(SLACK_SIM.approvalChannel)[before], 'the approval message');
}
