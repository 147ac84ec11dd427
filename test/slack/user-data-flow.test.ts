/**
 * Secrets in a recipe's user-data through the real Bolt app over signed HTTP: nothing Slack is
 * sent holds them (views, messages), an unchanged form files the recipe's exact user-data, an
 * edited one is shown to the lead masked, and user-data longer than a Slack input still opens.
 */
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { userDataOf } from '../../src/slack/views/user-data.js';
import { startRig, textOf, until, type Rig } from '../helpers/bot.js';
import { LONG_USER_DATA, recipeWithUserData, SECRET_USER_DATA, SECRETS } from '../helpers/secret-recipes.js';

/** Nothing the bot sent to Slack so far holds a secret. */
function expectNothingSentHoldsASecret(rig: Rig): void {
  const sent = JSON.stringify(rig.slack.calls);
  for (const secret of SECRETS) expect(sent).not.toContain(secret);
}

/** What the form's user-data field shows. */
function shownUserData(view: { view: { blocks?: unknown[] } }): string {
  const blocks = (view.view.blocks ?? []) as Array<{ block_id?: string; element?: { initial_value?: string } }>;
  return blocks.find((b) => b.block_id?.startsWith('user_data.'))!.element!.initial_value!;
}

describe('user-data secrets and the form', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig({ extraRecipes: [recipeWithUserData('secret-cloud', SECRET_USER_DATA), recipeWithUserData('long-cloud', LONG_USER_DATA)] });
  });
  afterEach(() => rig.close());

  it('views.open carries placeholders, never the secrets; the unchanged form files the recipe’s exact user-data', async () => {
    await rig.driver.command(SLACK_SIM.requester, 'secret-cloud');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');
    const opened = JSON.stringify(rig.slack.callsTo('views.open'));
    for (const secret of SECRETS) expect(opened).not.toContain(secret);
    expect(opened).toContain('passwd: «secret 1 from the recipe»');
    expect(opened).toContain("echo 'root:«secret 4 from the recipe»' | chpasswd");

    const reply = await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'secret-01' });
    expect(reply.body).toBe('');
    const request = await until(() => rig.store.listRequests()[0], 'the filed request');
    expect(userDataOf(request.spec.vm)).toBe(SECRET_USER_DATA);
    const approval = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'the approval message');
    expect(textOf(approval)).toContain('Cloud-init user-data: as in recipe `secret-cloud`');

    // Approved and built: VergeOS gets the secrets, Slack and the audit log never do.
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await until(() => rig.store.getRequest(request.id)?.state === 'succeeded', 'the VM built', 15_000);
    await rig.bot.idle();
    const created = rig.vergeos.requestsTo('POST /vms')[0]!.body as { cloudinit_files: Array<{ name: string; contents: string }> };
    expect(userDataOf({ cloudinit_files: created.cloudinit_files })).toBe(SECRET_USER_DATA);
    expectNothingSentHoldsASecret(rig);
    const audit = await readFile(rig.audit.file, 'utf8');
    for (const secret of SECRETS) expect(audit).not.toContain(secret);
  });

  it('an edited form keeps the secrets it did not touch; the lead sees the edit, masked', async () => {
    await rig.driver.command(SLACK_SIM.requester, 'secret-cloud');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');
    const typed = shownUserData(modal).replace('package_update: true', 'package_update: false');
    await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'secret-02', user_data: typed });
    const request = await until(() => rig.store.listRequests()[0], 'the filed request');
    expect(userDataOf(request.spec.vm)).toBe(SECRET_USER_DATA.replace('package_update: true', 'package_update: false'));
    const approval = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'the approval message');
    const text = textOf(approval);
    expect(text).toContain('changed from recipe `secret-cloud` (secrets masked)');
    expect(text).toContain('package_update: false');
    expect(text).toContain('root:***');
    await rig.bot.idle();
    expectNothingSentHoldsASecret(rig);
  });

  it('user-data longer than a Slack input: the form opens, says it is used as it is, and files it exactly', async () => {
    expect(LONG_USER_DATA.length).toBeGreaterThan(3000);
    await rig.driver.command(SLACK_SIM.requester, 'long-cloud');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');
    expect(JSON.stringify(modal.view)).toContain(`the recipe's (${LONG_USER_DATA.length} characters) is used as it is`);
    await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'long-01' });
    const request = await until(() => rig.store.listRequests()[0], 'the filed request');
    expect(userDataOf(request.spec.vm)).toBe(LONG_USER_DATA);
    await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'the approval message');
    await rig.bot.idle();
    expectNothingSentHoldsASecret(rig);
  });
});
