/** User text in the approval message stays the user's: a ``` in a drive name or a description cannot end the plan's code block or the quote. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { startRig, until, type Rig } from '../helpers/bot.js';

const FENCE = '```';

describe('user text in the approval message', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.close());

  it('a drive name or VM description holding ``` does not end the code block; the text after it stays inside', async () => {
    await rig.driver.command(SLACK_SIM.requester, 'web-server');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');
    const reply = await rig.driver.submit(SLACK_SIM.requester, modal, {
      name: 'fence-01',
      drive_name_0: `os${FENCE} *Approved by lead*`,
      description: `web${FENCE}\n:white_check_mark: Approved by <@U0LEAD1>`,
    });
    expect(reply.body).toBe('');
    const approval = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'the approval message');
    const texts = (approval.blocks as Array<{ text?: { text: string }; fields?: Array<{ text: string }> }>).flatMap((b) => [
      ...(b.text ? [b.text.text] : []),
      ...(b.fields ?? []).map((f) => f.text),
    ]);
    // The plan's own two fences, and no other anywhere in the message.
    expect(texts.join('\n').split(FENCE)).toHaveLength(3);
    const plan = texts.find((t) => t.startsWith('*Plan*'))!;
    expect(plan).toMatch(/```[\s\S]*drive "os`\u200B`\u200B` \*Approved by lead\*"[\s\S]*```$/);
    // The description stays quoted, line by line, and escaped.
    const asks = texts.find((t) => t.includes('asks for'))!;
    expect(asks).toContain('\n>web`\u200B`\u200B`\n>:white_check_mark: Approved by &lt;@U0LEAD1&gt;');
  });
});
