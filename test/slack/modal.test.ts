/** The command, the modal (rows, prefill, field errors, pre-flight), options, signatures, retries, App Home. */
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { startRig, textOf, until, type Rig } from '../helpers/bot.js';

describe('the /vm-create command and its modal', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.close());

  it('answers help, list, status and unknown input ephemerally', async () => {
    const help = await rig.driver.command(SLACK_SIM.requester, 'help');
    expect(help.json).toMatchObject({ response_type: 'ephemeral' });
    expect(JSON.stringify(help.json)).toContain('`gpu-workstation`');
    const list = await rig.driver.command(SLACK_SIM.requester, 'list');
    expect((list.json as { text: string }).text).toBe('You have no requests yet.');
    const unknown = await rig.driver.command(SLACK_SIM.requester, 'frobnicate <!channel>');
    const unknownText = JSON.stringify(unknown.json);
    expect(unknownText).toContain("I don't know `frobnicate`");
    expect(unknownText).toContain('`web-server`');
    const status = await rig.driver.command(SLACK_SIM.requester, 'status REQ-99');
    expect(JSON.stringify(status.json)).toContain('There is no request REQ-99');
    expect(rig.slack.callsTo('views.open')).toHaveLength(0);
  });

  it("shows field errors in the modal, in the user's terms, and files nothing", async () => {
    await rig.driver.command(SLACK_SIM.requester, 'web-server');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'modal');
    const reply = await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'bad/name', ram: '3 bananas', drive_size_0: '' });
    const errors = (reply.json as { response_action: string; errors: Record<string, string> }).errors;
    expect((reply.json as { response_action: string }).response_action).toBe('errors');
    expect(errors['name.0']).toMatch(/may only contain letters, digits/);
    expect(errors['ram.0']).toBe('RAM must be a number of MB or a size like 8GiB (got "3 bananas")');
    expect(errors['drive_size_0.0']).toBe('a new disk needs a size (e.g. 100GiB)');
    expect(rig.store.listRequests()).toEqual([]);
  });

  it('pre-flight: a taken name and a full tier are field errors; a nearly full tier is a warning for the lead', async () => {
    await rig.driver.command(SLACK_SIM.requester, 'cloud-image');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'modal');
    const taken = await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'legacy-db' });
    expect((taken.json as { errors: Record<string, string> }).errors).toEqual({
      'name.0': 'legacy-db is already taken in VergeOS (VM key 40); pick another name',
    });
    const ok = await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'debian-01' });
    expect(ok.body).toBe('');
    const approval = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'approval');
    expect(textOf(approval)).toMatch(/:warning: Storage tier 3 will be 92% full after this/);
    expect(rig.store.getRequest('REQ-1')?.warnings).toHaveLength(1);
  });

  it('adds and removes drive rows with views.update, keeping what was typed', async () => {
    await rig.driver.command(SLACK_SIM.requester, '');
    let modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'modal');
    await rig.driver.modalAction(SLACK_SIM.requester, modal, 'drive_add', {}, { name: 'rows-01' });
    modal = await until(
      () => JSON.stringify(rig.slack.openView(SLACK_SIM.requester)!.view).includes('drive_size_0') && rig.slack.openView(SLACK_SIM.requester),
      'one drive row',
    );
    await rig.driver.modalAction(SLACK_SIM.requester, modal, 'drive_add', {}, { name: 'rows-01', drive_size_0: '20GiB' });
    modal = await until(
      () => JSON.stringify(rig.slack.openView(SLACK_SIM.requester)!.view).includes('drive_size_1') && rig.slack.openView(SLACK_SIM.requester),
      'two drive rows',
    );
    const update = rig.slack.callsTo('views.update').at(-1)!;
    expect(update.args.hash).toBeDefined();
    expect(JSON.stringify(modal.view)).toContain('"initial_value":"20GiB"');
    expect(JSON.stringify(modal.view)).toContain('"initial_value":"rows-01"');
    await rig.driver.modalAction(SLACK_SIM.requester, modal, 'drive_remove', { value: '0' }, { drive_size_1: '5GiB' });
    modal = await until(
      () => !JSON.stringify(rig.slack.openView(SLACK_SIM.requester)!.view).includes('drive_size_0') && rig.slack.openView(SLACK_SIM.requester),
      'row 0 removed',
    );
    expect(JSON.stringify(modal.view)).toContain('drive_size_1');
    expect(JSON.stringify(modal.view)).toContain('"initial_value":"5GiB"');
  });

  it('picking a recipe prefills the form under fresh block ids', async () => {
    await rig.driver.command(SLACK_SIM.requester, '');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'modal');
    await rig.driver.modalAction(SLACK_SIM.requester, modal, 'recipe_pick', { selected: 'gpu-workstation' }, { name: 'gpu-01' });
    const filled = await until(
      () => JSON.stringify(rig.slack.openView(SLACK_SIM.requester)!.view).includes('name.1') && rig.slack.openView(SLACK_SIM.requester),
      'prefilled',
    );
    const text = JSON.stringify(filled.view);
    expect(text).toContain('"initial_value":"gpu-01"');
    expect(text).toContain('"initial_value":"64GiB"');
    expect(text).toContain('1f67f07e-f653-db95-c475-01b8a2ea0ff1');
  });

  it('serves live choices with typed filtering, grouped, within the limits', async () => {
    await rig.driver.command(SLACK_SIM.requester, 'web-server');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'modal');
    const vnets = (await rig.driver.options(SLACK_SIM.requester, modal, 'nic_vnet_1')).json as { options: Array<{ value: string; text: { text: string } }> };
    expect(vnets.options.map((o) => o.text.text)).toEqual(['Dev-Internal (internal)', 'External (external)']); // core, dmz and disabled hidden
    const filtered = (await rig.driver.options(SLACK_SIM.requester, modal, 'nic_vnet_1', 'ext')).json as { options: Array<{ value: string }> };
    expect(filtered.options.map((o) => o.value)).toEqual(['3']);
    const tiers = (await rig.driver.options(SLACK_SIM.requester, modal, 'drive_tier_0')).json as { options: Array<{ text: { text: string } }> };
    expect(tiers.options[2]!.text.text).toBe('Tier 3 HDD archive — 80 GiB free');
    const media = (await rig.driver.options(SLACK_SIM.requester, modal, 'drive_source_0')).json as {
      option_groups: Array<{ label: { text: string }; options: unknown[] }>;
    };
    expect(media.option_groups.map((g) => [g.label.text, g.options.length])).toEqual([
      ['ISO images', 4],
      ['Disk images', 2],
    ]);
  });

  it('answers options within the deadline even when VergeOS hangs', async () => {
    rig.vergeos.faults.add({ route: 'GET /clusters', hang: true });
    await rig.driver.command(SLACK_SIM.requester, '');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'modal');
    const started = Date.now();
    const reply = await rig.driver.options(SLACK_SIM.requester, modal, 'cluster');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ options: [] });
  });

  it('a retried delivery of the same submission files one request', async () => {
    await rig.driver.command(SLACK_SIM.requester, 'web-server');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'modal');
    await Promise.all([
      rig.driver.submit(SLACK_SIM.requester, modal, { name: 'once-01' }),
      rig.driver.submit(SLACK_SIM.requester, modal, { name: 'once-01' }, { retryNum: 1 }),
    ]);
    await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel).length, 'approval');
    await rig.bot.idle();
    expect(rig.store.listRequests()).toHaveLength(1);
    expect(rig.slack.channelMessages(SLACK_SIM.approvalChannel)).toHaveLength(1);
  });

  it('refuses forged and stale signatures', async () => {
    const forged = await rig.driver.command(SLACK_SIM.requester, 'help', undefined, { signature: 'v0=deadbeef' });
    expect(forged.status).toBe(401);
    const stale = await rig.driver.command(SLACK_SIM.requester, 'help', undefined, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(stale.status).toBe(401);
    expect(rig.slack.calls.filter((c) => c.method !== 'auth.test')).toHaveLength(0);
  });

  it('serves GET /healthz and an App Home with requests, and pending approvals for leads; republishes only the tabs a change shows on', async () => {
    const health = await request(`${rig.driver.botUrl}/healthz`);
    expect(health.statusCode).toBe(200);
    expect(await health.body.json()).toEqual({ ok: true });
    // Someone with no part in the request has their tab open throughout.
    await rig.driver.appHomeOpened(SLACK_SIM.bystander);
    await until(() => rig.slack.openView(SLACK_SIM.bystander, 'home'), 'bystander home');
    const publishesTo = (user: string) => rig.slack.callsTo('views.publish').filter((c) => c.args.user_id === user).length;
    await rig.driver.command(SLACK_SIM.requester, 'web-server');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'modal');
    await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'home-01' });
    await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel).length, 'approval');
    await rig.driver.appHomeOpened(SLACK_SIM.requester);
    const mine = await until(() => rig.slack.openView(SLACK_SIM.requester, 'home'), 'requester home');
    expect(JSON.stringify(mine.view)).toContain('home-01');
    expect(JSON.stringify(mine.view)).not.toContain('Waiting for approval');
    await rig.driver.appHomeOpened(SLACK_SIM.lead1);
    const lead = await until(() => rig.slack.openView(SLACK_SIM.lead1, 'home'), 'lead home');
    expect(JSON.stringify(lead.view)).toContain('Waiting for approval (1)');
    await rig.driver.clickHomeButton(SLACK_SIM.lead1, lead, 'request_approve', 'REQ-1');
    await until(() => rig.store.getRequest('REQ-1')?.state === 'succeeded', 'approved from home');
    // Tabs that were opened are kept current without being reopened.
    await until(
      () => JSON.stringify(rig.slack.openView(SLACK_SIM.lead1, 'home')!.view).includes('Waiting for approval (0)'),
      'the lead tab to drop the approved request',
    );
    await until(() => JSON.stringify(rig.slack.openView(SLACK_SIM.requester, 'home')!.view).includes('succeeded'), "the requester's tab to show it succeeded");
    // The lead's tab changed when the request left the pending list, not for each provisioning step.
    const leadPublishes = publishesTo(SLACK_SIM.lead1);
    expect(leadPublishes).toBeGreaterThanOrEqual(2);
    expect(leadPublishes).toBeLessThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 700)); // past the debounce
    expect(publishesTo(SLACK_SIM.bystander)).toBe(1);
    expect(publishesTo(SLACK_SIM.lead1)).toBe(leadPublishes);
  });
});
