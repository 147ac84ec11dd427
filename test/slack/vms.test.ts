/** `/vm-create mine` and the day-2 buttons through the real Bolt app. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_SIM, type SlackEphemeral, type SlackMessage } from '../../src/sim/slack-sim.js';
import { startRig, textOf, until, type Rig } from '../helpers/bot.js';
import { fileRequest } from '../helpers/flows.js';

/** An ephemeral reply as the message its buttons sit on. */
const asMessage = (e: SlackEphemeral): SlackMessage => ({ channel: e.channel, ts: e.message_ts, user: SLACK_SIM.bot, text: e.text, blocks: e.blocks });

describe('my VMs, from Slack', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.close());

  async function mine(user: string): Promise<SlackEphemeral> {
    const before = rig.slack.ephemerals.length;
    await rig.driver.command(user, 'mine');
    return until(() => rig.slack.ephemerals.slice(before).find((e) => e.user === user), 'the list');
  }

  const replyTo = (user: string, after: number) =>
    until(
      () => rig.slack.ephemerals.slice(after).filter((e) => e.user === user).length > 0 && rig.slack.ephemerals.slice(after).filter((e) => e.user === user),
      'the replies',
    );

  it("lists the owner's VMs with live status; the owner powers off and deletes, once each under double clicks; a bystander is refused", async () => {
    const approval = await fileRequest(rig, 'day2-01');
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await until(() => rig.store.getRequest('REQ-1')?.state === 'succeeded', 'the VM', 15_000);
    const vm = rig.bot.ctx.provisioner.ownedVms()[0]!;

    await rig.driver.appHomeOpened(SLACK_SIM.requester);
    const home = await until(() => rig.slack.openView(SLACK_SIM.requester, 'home'), 'the App Home');
    expect(JSON.stringify(home.view.blocks)).toContain(`*day2-01* · VM key ${vm.keys.vmKey} / machine key ${vm.keys.machineKey} · kept until deleted`);

    const list = await mine(SLACK_SIM.requester);
    expect(textOf(list)).toContain(`*day2-01* · running · VM key ${vm.keys.vmKey} / machine key ${vm.keys.machineKey}`);
    expect(textOf(list)).toContain('vm_power_off');
    expect((await mine(SLACK_SIM.bystander)).text).toBe('You have no VMs made through the bot.');

    let mark = rig.slack.ephemerals.length;
    await rig.driver.clickMessageButton(SLACK_SIM.bystander, asMessage(list), 'vm_power_off');
    expect((await replyTo(SLACK_SIM.bystander, mark))[0]!.text).toBe(
      'day2-01 belongs to <@U0REQUESTER>; only its owner or a lead may do that. Nothing was changed.',
    );
    expect(rig.vergeos.requestsTo('POST /vm_actions').filter((r) => (r.body as { action: string }).action === 'poweroff')).toHaveLength(0);

    mark = rig.slack.ephemerals.length;
    await Promise.all([
      rig.driver.clickMessageButton(SLACK_SIM.requester, asMessage(list), 'vm_power_off'),
      rig.driver.clickMessageButton(SLACK_SIM.requester, asMessage(list), 'vm_power_off'),
    ]);
    const replies = await until(
      () => rig.slack.ephemerals.slice(mark).filter((e) => e.user === SLACK_SIM.requester).length === 2 && rig.slack.ephemerals.slice(mark),
      'two replies',
    );
    expect(replies.map((e) => e.text).sort()).toEqual(
      [
        'day2-01 is powered off.',
        expect.stringMatching(/^day2-01 is (busy with another action; nothing more was changed|already stopped; nothing was changed)\.$/),
      ].sort(),
    );
    expect(rig.vergeos.requestsTo('POST /vm_actions').filter((r) => (r.body as { action: string }).action === 'poweroff')).toHaveLength(1);

    const stopped = await mine(SLACK_SIM.requester);
    expect(textOf(stopped)).toContain('*day2-01* · stopped');
    expect(textOf(stopped)).toContain('vm_power_on');

    mark = rig.slack.ephemerals.length;
    await Promise.all([
      rig.driver.clickMessageButton(SLACK_SIM.requester, asMessage(stopped), 'vm_delete'),
      rig.driver.clickMessageButton(SLACK_SIM.requester, asMessage(stopped), 'vm_delete'),
    ]);
    await until(() => rig.slack.ephemerals.slice(mark).some((e) => e.text.startsWith('Deleted day2-01')), 'the deletion');
    await rig.bot.idle();
    expect(rig.vergeos.requestsTo('DELETE /vms/:key')).toHaveLength(1);
    expect(rig.vergeos.state.table('vms').has(vm.keys.vmKey)).toBe(false);
    expect(rig.store.getRun(vm.runId)?.state).toBe('decommissioned');
    await until(
      () => rig.slack.channelMessages(SLACK_SIM.auditChannel).find((m) => m.text.includes('*day2-01* decommissioned by <@U0REQUESTER>')),
      'the audit line',
    );
    expect((await mine(SLACK_SIM.requester)).text).toBe('You have no VMs made through the bot.');
    // The owner's open tab was republished without the VM; nobody else's tab was touched.
    await until(() => JSON.stringify(rig.slack.openView(SLACK_SIM.requester, 'home')!.view.blocks).includes('Your VMs (0)'), 'the tab without the VM');
  });

  it('a VM deleted outside the bot is marked gone, its owner told, and shown so', async () => {
    const approval = await fileRequest(rig, 'ghost-01');
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await until(() => rig.store.getRequest('REQ-1')?.state === 'succeeded', 'the VM', 15_000);
    const vm = rig.bot.ctx.provisioner.ownedVms()[0]!;
    rig.vergeos.state.vmAction({ vm: vm.keys.vmKey, action: 'kill' });
    rig.vergeos.state.deleteVm(vm.keys.vmKey);
    await rig.bot.reconcile();
    await rig.bot.reconcile();
    await rig.bot.idle();
    expect(rig.slack.dms(SLACK_SIM.requester).filter((m) => m.text.includes('was deleted outside the bot'))).toHaveLength(1);
    expect(rig.slack.channelMessages(SLACK_SIM.auditChannel).filter((m) => m.text.startsWith(':ghost: *ghost-01* was deleted outside the bot'))).toHaveLength(
      1,
    );
    expect(textOf(await mine(SLACK_SIM.requester))).toContain('*ghost-01* · deleted outside the bot');
  });
});

describe('leases, from Slack', () => {
  let rig: Rig;
  let now = Date.now();
  const DAY = 86_400_000;
  beforeEach(async () => {
    now = Date.now();
    rig = await startRig({ leaseNow: () => now });
  });
  afterEach(() => rig.close());

  it('reminds the owner once with Extend and Delete now, extends within the maximum, powers off at the end and deletes after grace', async () => {
    const approval = await fileRequest(rig, 'lab-lease-01', 'iso-install');
    expect(textOf(approval)).toContain('Kept for 1 week once ready (extendable to at most 30 days from any day)');
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await until(() => rig.store.getRequest('REQ-1')?.state === 'succeeded', 'the VM', 15_000);
    const vm = rig.bot.ctx.provisioner.ownedVms()[0]!;
    const endsAt = Date.parse(vm.lease!.endsAt!);
    await rig.driver.appHomeOpened(SLACK_SIM.requester);
    const tab = () => JSON.stringify(rig.slack.openView(SLACK_SIM.requester, 'home')?.view.blocks ?? []);
    await until(() => tab().includes('Your VMs (1)'), 'the tab with the VM');
    const dms = () => rig.slack.dms(SLACK_SIM.requester).filter((m) => m.text.includes('lab-lease-01') && /kept until|powered off|deleted/.test(m.text));

    now = endsAt - 3 * DAY + 1_000;
    await rig.bot.sweepLeases();
    await rig.bot.sweepLeases();
    await rig.bot.idle();
    expect(dms()).toHaveLength(1);
    const reminder = dms()[0]!;
    expect(textOf(reminder)).toContain('Extend by 1 week');
    expect(textOf(reminder)).toContain('Delete now');

    let mark = rig.slack.ephemerals.length;
    await rig.driver.clickMessageButton(SLACK_SIM.bystander, reminder, 'lease_extend');
    await until(
      () => rig.slack.ephemerals.slice(mark).find((e) => e.user === SLACK_SIM.bystander && e.text.includes('only its owner or a lead')),
      'the bystander refused',
    );
    mark = rig.slack.ephemerals.length;
    await rig.driver.clickMessageButton(SLACK_SIM.requester, reminder, 'lease_extend');
    await until(() => rig.store.getVm(vm.id)?.lease?.endsAt === new Date(endsAt + 7 * DAY).toISOString(), 'the extension');

    now = endsAt + 7 * DAY;
    await rig.bot.sweepLeases();
    await rig.bot.idle();
    expect(rig.vergeos.state.table('machine_status').get(String(rig.vergeos.state.table('machines').get(vm.keys.machineKey!)!.status))!.status).toBe('stopped');
    await until(
      () => rig.slack.channelMessages(SLACK_SIM.auditChannel).find((m) => m.text.includes(':hourglass: *lab-lease-01* powered off at the end of its lease')),
      'the audit line for the power-off',
    );

    now += 3 * DAY;
    await rig.bot.sweepLeases();
    await rig.bot.sweepLeases();
    await rig.bot.idle();
    expect(rig.vergeos.state.table('vms').has(vm.keys.vmKey)).toBe(false);
    expect(rig.vergeos.requestsTo('DELETE /vms/:key')).toHaveLength(1);
    expect(
      dms()
        .map((m) => m.text.replace(/ \(VM key \d+\)/, ''))
        .slice(1),
    ).toEqual([
      expect.stringMatching(/^Your VM lab-lease-01 was powered off: its lease ended\. It is deleted .* unless you extend it\.$/),
      'Your VM lab-lease-01 was deleted: its lease ended.',
    ]);
    // The owner's open tab followed the lease: the VM is gone from it.
    await until(() => tab().includes('Your VMs (0)'), 'the tab without the VM');
  });

  it('a notice recorded by a bot that stopped before sending it is sent by the next one, once', async () => {
    const approval = await fileRequest(rig, 'outbox-01', 'iso-install');
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await until(() => rig.store.getRequest('REQ-1')?.state === 'succeeded', 'the VM', 15_000);
    const vm = rig.bot.ctx.provisioner.ownedVms()[0]!;
    now = Date.parse(vm.lease!.endsAt!) - DAY + 1_000;
    // The step is taken and its notice recorded, then the bot stops before telling anyone.
    expect((await rig.bot.ctx.leases.sweep()).map((e) => e.type)).toEqual(['reminder']);
    await rig.bot.idle();
    const reminders = () => rig.slack.dms(SLACK_SIM.requester).filter((m) => m.text.includes('outbox-01') && m.text.includes('is kept until'));
    expect(reminders()).toHaveLength(0);
    await rig.restart();
    await until(() => reminders().length === 1, 'the reminder, after the restart');
    await rig.bot.sweepLeases();
    await rig.bot.idle();
    expect(reminders()).toHaveLength(1);
    expect(rig.store.getVm(vm.id)?.lease?.outbox).toEqual([]);
  });

  it('an extension beyond the maximum becomes a request a lead approves, and is then applied', async () => {
    const approval = await fileRequest(rig, 'long-lab-01', 'iso-install');
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    await until(() => rig.store.getRequest('REQ-1')?.state === 'succeeded', 'the VM', 15_000);
    const vm = rig.bot.ctx.provisioner.ownedVms()[0]!;
    const endsAt = Date.parse(vm.lease!.endsAt!);
    await rig.driver.appHomeOpened(SLACK_SIM.requester);
    const tab = () => JSON.stringify(rig.slack.openView(SLACK_SIM.requester, 'home')?.view.blocks ?? []);
    await until(() => tab().includes('Your VMs (1)'), 'the tab with the VM');
    now = endsAt - 3 * DAY + 1_000;
    await rig.bot.sweepLeases();
    const reminder = await until(() => rig.slack.dms(SLACK_SIM.requester).find((m) => m.text.includes('is kept until')), 'the reminder');
    await rig.driver.command(SLACK_SIM.requester, 'mine');
    const list = await until(() => rig.slack.ephemerals.find((e) => e.user === SLACK_SIM.requester && e.text.includes('VM(s)')), 'my VMs');
    expect(textOf(list)).toContain('Extend by 1 week');
    expect(textOf(list)).toContain('· kept until');
    // Three weeks more fit in the 30-day maximum (counted from today); a fourth does not.
    for (let week = 1; week <= 3; week++) {
      await rig.driver.clickMessageButton(SLACK_SIM.requester, reminder, 'lease_extend');
      await until(() => rig.store.getVm(vm.id)?.lease?.endsAt === new Date(endsAt + week * 7 * DAY).toISOString(), `extension ${week}`);
    }
    await rig.driver.clickMessageButton(SLACK_SIM.requester, reminder, 'lease_extend');
    const ask = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel).find((m) => m.text.startsWith('REQ-2:')), 'the extension request');
    const wanted = new Date(endsAt + 28 * DAY).toISOString();
    expect(ask.text).toBe(`REQ-2: <@U0REQUESTER> asks to keep VM long-lab-01 until ${wanted}, beyond its lease's maximum`);
    expect(rig.store.getVm(vm.id)?.lease?.endsAt).toBe(new Date(endsAt + 21 * DAY).toISOString());
    await rig.driver.clickMessageButton(SLACK_SIM.lead2, ask, 'request_approve');
    await until(() => rig.store.getRequest('REQ-2')?.state === 'succeeded', 'the extension applied');
    await rig.bot.idle();
    expect(rig.store.getVm(vm.id)?.lease?.endsAt).toBe(wanted);
    expect(rig.vergeos.requestsTo('POST /vms')).toHaveLength(1); // nothing new was created
    // The extension's posts are not runs: waited for as they land, not through idle().
    await until(
      () =>
        rig.slack
          .channelMessages(SLACK_SIM.auditChannel)
          .some((m) => m.text.includes(`*long-lab-01*'s lease now ends ${wanted}, beyond its maximum, approved by <@U0LEAD2>`)),
      'the audit line',
    );
    await until(() => textOf(rig.slack.messages.find((m) => m.ts === ask.ts)!).includes('lease extended'), 'the approval message updated');
  });

  it("the form asks how long to keep it, within the recipe's maximum", async () => {
    await rig.driver.command(SLACK_SIM.requester, 'iso-install');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');
    const keep = JSON.stringify((modal.view.blocks as unknown[]).find((b) => JSON.stringify(b).includes('keep_for')));
    expect(keep).toContain('"initial_option":{"text":{"type":"plain_text","text":"7 days","emoji":true},"value":"7d"}');
    expect(keep).not.toContain('forever'); // the recipe has a maximum
    expect((await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'short-01', keep_for: '1d' })).body).toBe('');
    const approval = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'the approval');
    expect(rig.store.getRequest('REQ-1')?.lease).toEqual({ forMs: 86_400_000, maxMs: 30 * 86_400_000 });
    expect(textOf(approval)).toContain('Kept for 1 day once ready');
    await rig.driver.command(SLACK_SIM.requester, 'web-server');
    const open = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');
    expect(JSON.stringify(open.view.blocks)).toContain('"initial_option":{"text":{"type":"plain_text","text":"Until deleted","emoji":true},"value":"forever"}');
  });
});

describe('reaching a VM, from Slack', () => {
  let rig: Rig;
  /** The wall clock until the VM is ready, then where the test sets it (the bot's and the simulator's). */
  let frozen: number | undefined;
  afterEach(() => rig.close());

  it('the ready message links the console; the address is posted in the thread once VergeOS reports it, and /vm-create mine shows both', async () => {
    const now = () => frozen ?? Date.now();
    rig = await startRig({ now, vergeos: { clock: now, timing: { importMs: 60, startMs: 0, stopMs: 0, addressMs: 20_000 } } });
    const approval = await fileRequest(rig, 'reach-01');
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
    const ready = await until(() => rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts).find((m) => m.text.includes('is ready')), 'the summary', 15_000);
    const vm = rig.bot.ctx.provisioner.ownedVms()[0]!;
    const console = `${rig.vergeos.url}/#/vm-console/${vm.keys.vmKey}`;
    expect(textOf(ready)).toContain(`console: <${console}|open in VergeOS>`);
    expect(textOf(ready)).toContain('addresses: posted here once VergeOS reports them');
    const reachable = () => rig.slack.thread(SLACK_SIM.approvalChannel, approval.ts).filter((m) => m.text.startsWith('reach-01 is reachable'));

    // Asked at 5 s (nothing yet), 15 s (nothing yet), 35 s: VergeOS knew it from 20 s.
    const sweepAt = async (ms: number) => {
      frozen = Date.parse(rig.store.getVm(vm.id)!.readyAt!) + ms;
      await rig.bot.core.sweeps.addresses();
    };
    await sweepAt(5_000);
    await sweepAt(15_000);
    expect(reachable()).toEqual([]);
    await sweepAt(35_000);
    await until(() => reachable().length === 1, 'the address in the thread');
    const address = rig.store.getVm(vm.id)!.network!.nics[0]!.ipaddress!;
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(textOf(reachable()[0]!)).toContain(`*reach-01*: ${rig.store.getVm(vm.id)!.network!.nics[0]!.name} \`${address}\` · <${console}|console>`);
    await sweepAt(95_000);
    expect(reachable()).toHaveLength(1);

    const before = rig.slack.ephemerals.length;
    await rig.driver.command(SLACK_SIM.requester, 'mine');
    const list = await until(() => rig.slack.ephemerals.slice(before).find((e) => e.user === SLACK_SIM.requester), 'the list');
    expect(textOf(list)).toContain(`\`${address}\` · <${console}|console>`);
  });
});
