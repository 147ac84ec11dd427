/**
 * `npm run demo`: the whole product on loopback, told as a transcript. A requester asks for a web
 * server, a bystander's approval is refused, a lead approves and the VM is built step by step in
 * the thread, with its address; the requester resizes it (a lead approves before → after) and
 * snapshots it; a second request fails on a storage tier another team filled meanwhile, and the
 * lead deletes the partial VM; a batch of 20 is refused at submit for want of room, and a batch
 * of 3 goes through one approval to one summary; the audit log is verified. Every step is checked: exit 0 only if
 * all of it happened as told. `--keep` leaves everything running for exploring by hand.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dhcpAddress, SIM_DEFAULT_API_KEY } from '../sim/index.js';
import { SLACK_SIM, type SlackEphemeral, type SlackMessage, type SlackView } from '../sim/slack-sim.js';
import { verifyAuditLog } from '../store/audit.js';
import { VergeosClient } from '../vergeos/client.js';
import { render } from './transcript.js';
import { startWorkspace, waitFor, type Workspace } from './workspace.js';

const keep = process.argv.includes('--keep');
const started = Date.now();
const out = (line = '') => process.stdout.write(`${line}\n`);
let step = 0;
const act = (who: string, what: string) => out(`\n${++step}. @${who} ${what}`);
const sees = (where: string, text: string) => out(`   → ${where}:\n${text}`);

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`demo check failed: ${what}`);
}

const name = (id: string, ws: Workspace) => ws.slack.users.get(id)!.name;

async function openForm(ws: Workspace, user: string, text: string): Promise<SlackView> {
  const before = ws.slack.callsTo('views.open').length;
  const reply = await ws.driver.command(user, text);
  check(reply.status === 200, `/vm-create ${text} was acked`);
  await waitFor(() => ws.slack.callsTo('views.open').length > before, 'the modal');
  return waitFor(() => ws.slack.openView(user), 'the open modal');
}

async function submit(ws: Workspace, user: string, view: SlackView, vmName: string): Promise<SlackMessage> {
  const before = ws.slack.channelMessages(SLACK_SIM.approvalChannel).length;
  const reply = await ws.driver.submit(user, view, { name: vmName });
  check(reply.body === '', `the form for ${vmName} was accepted (got ${reply.body})`);
  return waitFor(() => ws.slack.channelMessages(SLACK_SIM.approvalChannel)[before], 'the approval message');
}

async function thread(ws: Workspace, parent: SlackMessage, until: (m: SlackMessage) => boolean, what: string): Promise<SlackMessage[]> {
  await waitFor(() => ws.slack.thread(parent.channel, parent.ts).find(until), what, 20_000);
  return ws.slack.thread(parent.channel, parent.ts);
}

/** `/vm-create mine` as `user` types it: the list only they see. */
async function mine(ws: Workspace, user: string): Promise<SlackEphemeral> {
  const before = ws.slack.ephemerals.length;
  await ws.driver.command(user, 'mine');
  return waitFor(() => ws.slack.ephemerals.slice(before).find((e) => e.user === user && /VM\(s\)/.test(e.text)), 'the list of VMs');
}

/** Picks `form` from the first VM's More… menu on the list; the form that opens. */
async function pickMore(ws: Workspace, user: string, list: SlackEphemeral, form: string): Promise<SlackView> {
  const value = /"value":"([a-z_]+:run-[a-z0-9-]+)"/g;
  const option = [...JSON.stringify(list.blocks).matchAll(value)].map((m) => m[1]!).find((v) => v.startsWith(`${form}:`));
  check(option, `the list offers More… ${form}`);
  const opened = ws.slack.callsTo('views.open').length;
  const message = { channel: list.channel, ts: list.message_ts, user: SLACK_SIM.bot, text: list.text, blocks: list.blocks };
  await ws.driver.pickMessageOption(user, message, 'vm_more', option);
  await waitFor(() => ws.slack.callsTo('views.open').length > opened, `the ${form} form`);
  return waitFor(() => ws.slack.openView(user), 'the open form');
}

async function changeAndSnapshot(ws: Workspace, approval: SlackMessage): Promise<void> {
  const { slack, vergeos } = ws;
  const requester = SLACK_SIM.requester;
  const lead = SLACK_SIM.lead1;
  act(name(requester, ws), 'types `/vm-create mine`, picks More… → Resize on web-01: 6 vCPU, 12 GiB, power-cycle it now');
  const list = await mine(ws, requester);
  sees(`only @${name(requester, ws)} sees`, render(slack, list));
  const resize = await pickMore(ws, requester, list, 'resize');
  const approvals = slack.channelMessages(SLACK_SIM.approvalChannel).length;
  const sent = await ws.driver.submit(requester, resize, { cpu_cores: '6', ram: '12GiB', restart: { checked: ['restart'] } });
  check(sent.body === '', `the resize form was accepted (got ${sent.body})`);
  const ask = await waitFor(() => slack.channelMessages(SLACK_SIM.approvalChannel)[approvals], 'the change request');
  check(ask.text.includes('4 vCPU, 8 GiB RAM → 6 vCPU, 12 GiB RAM'), 'the lead is shown before → after');
  check(JSON.stringify(ask.blocks).includes('PUT /api/v4/vms/'), 'the lead is shown the exact call');
  sees('#approvals', render(slack, ask));
  act(name(lead, ws), 'approves it');
  await ws.driver.clickMessageButton(lead, ask, 'request_approve');
  const resized = await thread(ws, approval, (m) => m.text.includes('web-01: resize') && m.text.includes('done'), 'the resize in the thread');
  sees(
    'the thread of REQ-1',
    render(
      slack,
      resized.find((m) => m.text.includes('web-01: resize'))!,
      '    │ ',
    ),
  );
  const vm = [...vergeos.state.table('vms').values()].find((v) => v.name === 'web-01')!;
  check(vm.cpu_cores === 6 && vm.ram === 12288 && vm.need_restart === false, 'VergeOS runs web-01 with 6 vCPU and 12 GiB, no restart pending');
  check(vergeos.requestsTo('PUT /vms/:key').length === 1, 'exactly one PUT was sent');

  act(name(requester, ws), 'picks More… → Take snapshot on web-01 (kept 7 days; the policy lets owners take snapshots)');
  const snapshotForm = await pickMore(ws, requester, await mine(ws, requester), 'snapshot_create');
  const taken = await ws.driver.submit(requester, snapshotForm, { name: 'web-01-before-upgrade', expires: '7d' });
  check(taken.body === '', `the snapshot form was accepted (got ${taken.body})`);
  const snapped = await thread(ws, approval, (m) => m.text.includes('take snapshot web-01-before-upgrade'), 'the snapshot in the thread');
  sees(
    'the thread of REQ-1',
    render(
      slack,
      snapped.find((m) => m.text.includes('take snapshot'))!,
      '    │ ',
    ),
  );
  const snapshot = [...vergeos.state.table('machine_snapshots').values()].find((r) => r.name === 'web-01-before-upgrade');
  check(snapshot && Number(snapshot.expires) > Date.now() / 1000 + 6 * 86_400, 'VergeOS holds the snapshot, expiring in 7 days (an absolute time)');
}

async function story(ws: Workspace): Promise<void> {
  const { slack, vergeos } = ws;
  const requester = SLACK_SIM.requester;
  const bystander = SLACK_SIM.bystander;
  const lead = SLACK_SIM.lead1;
  const lead2 = SLACK_SIM.lead2;

  out('vergeos-vm-bot demo: everything below runs on this machine, on loopback.');
  out(`  VergeOS simulator  ${vergeos.url}/api/v4`);
  out(`  Slack stand-in     ${slack.apiUrl}`);
  out(`  the bot            ${ws.bot.url}/slack/events   (vmbot start, its own process, HTTP mode)`);

  // 1–2: request from a recipe.
  act(name(requester, ws), 'types `/vm-create web-server`');
  const form = await openForm(ws, requester, 'web-server');
  const formText = JSON.stringify(form.view);
  check(formText.includes('"initial_value":"8GiB"') && formText.includes('OS Drive'), 'the form is prefilled from the web-server recipe');
  sees(
    'a modal opens',
    `    "${(form.view.title as { text: string }).text}", prefilled from the Web server recipe: 4 vCPU, 8GiB RAM, UEFI, 100GiB OS Drive on tier 1, NIC on vnet 3, power on`,
  );

  act(name(requester, ws), 'names the VM web-01 and submits');
  const approval = await submit(ws, requester, form, 'web-01');
  check(approval.text.startsWith('REQ-1:'), 'REQ-1 is posted for approval');
  sees('#approvals', render(slack, approval));
  const receipt = await waitFor(() => slack.dms(requester)[0], 'the requester receipt');
  sees(`DM to @${name(requester, ws)}`, render(slack, receipt));

  // 3: a bystander cannot approve.
  act(name(bystander, ws), 'clicks Approve');
  await ws.driver.clickMessageButton(bystander, approval, 'request_approve');
  const refusal = await waitFor(() => slack.ephemerals.find((e) => e.user === bystander), 'the refusal');
  check(refusal.text.startsWith('Only leads'), 'the bystander is refused');
  sees(`only @${name(bystander, ws)} sees`, render(slack, refusal));
  check(vergeos.requestsTo('POST /vms').length === 0, 'nothing was created by the refused click');

  // 4: a lead approves; the thread shows every step and key.
  act(name(lead, ws), 'clicks Approve');
  await ws.driver.clickMessageButton(lead, approval, 'request_approve');
  const replies = await thread(ws, approval, (m) => m.text.includes('is ready'), 'the summary');
  sees('the thread of REQ-1', replies.map((m) => render(slack, m, '    │ ')).join('\n'));
  const vm = [...vergeos.state.table('vms').values()].find((v) => v.name === 'web-01');
  check(vm, 'VergeOS has web-01');
  const summary = replies.find((m) => m.text.includes('is ready'))!;
  check(summary.text.includes(`VM key ${String(vm.$key)}, machine key ${String(vm.machine)}`), 'the summary shows the real VM and machine keys');
  check(JSON.stringify(summary.blocks).includes(`/#/vm-console/${String(vm.$key)}|`), 'the summary links the VM console in VergeOS');
  // How to reach it: VergeOS learns the address a little after power-on; the bot asks until it knows.
  const reachable = await thread(ws, approval, (m) => m.text.startsWith('web-01 is reachable'), 'the address');
  const reach = reachable.find((m) => m.text.startsWith('web-01 is reachable'))!;
  sees('the thread of REQ-1, a few seconds later', render(slack, reach, '    │ '));
  const nic = [...vergeos.state.table('machine_nics').values()].find((n) => String(n.machine) === String(vm.machine))!;
  check(reach.text.includes(dhcpAddress(Number(nic.vnet), Number(nic.$key))), 'the thread gives the address VergeOS reports for its NIC');
  const auditLine = await waitFor(() => slack.channelMessages(SLACK_SIM.auditChannel).find((m) => m.text.includes('web-01')), 'the audit line');
  sees('#vm-audit', render(slack, auditLine));
  sees(
    '#approvals (REQ-1, updated)',
    render(
      slack,
      slack.messages.find((m) => m.ts === approval.ts)!,
    ),
  );
  check(!JSON.stringify(slack.messages.find((m) => m.ts === approval.ts)!.blocks).includes('request_approve'), 'the decided request lost its buttons');

  // 5–7: day two. The requester resizes web-01 from /vm-create mine; the policy asks a lead, who
  // sees before → after and the exact call; approved, it is one PUT and a graceful power cycle.
  await changeAndSnapshot(ws, approval);

  // 8–9: a second request; another team fills tier 2 before it is approved.
  act(name(requester, ws), 'requests `/vm-create iso-install` as lab-01 (a 64 GiB disk on tier 2)');
  const form2 = await openForm(ws, requester, 'iso-install');
  const approval2 = await submit(ws, requester, form2, 'lab-01');
  sees('#approvals', render(slack, approval2).split('\n').slice(0, 3).join('\n') + '\n    …');
  const other = new VergeosClient({ url: vergeos.url, auth: { apiKey: SIM_DEFAULT_API_KEY } });
  try {
    const tier2 = (await other.listStorageTiers()).find((t) => t.tier === '2')!;
    const { machineKey } = await other.createVm({ name: 'analytics-scratch', description: 'another team' });
    await other.addDrive({ machine: machineKey, name: 'scratch', media: 'disk', disksize: tier2.free - 10 * 1024 ** 3, preferred_tier: '2' });
    // A thin disk takes room as it is written: the other team's job fills it.
    vergeos.state.table('storage_tiers').get('2')!.used = tier2.capacity - 10 * 1024 ** 3;
    out(`\n   (meanwhile another team's automation takes all but 10 GiB of storage tier 2)`);
  } finally {
    await other.close();
  }
  act(name(lead2, ws), 'approves REQ-3');
  await ws.driver.clickMessageButton(lead2, approval2, 'request_approve');
  const replies2 = await thread(ws, approval2, (m) => m.text.includes('provisioning failed'), 'the failure');
  sees('the thread of REQ-3', replies2.map((m) => render(slack, m, '    │ ')).join('\n'));
  const failure = replies2.find((m) => m.text.includes('provisioning failed'))!;
  check(failure.text.includes('storage tier 2 is full'), 'the failure says the tier is full');
  const lab = [...vergeos.state.table('vms').values()].find((v) => v.name === 'lab-01');
  check(lab, 'the partial VM lab-01 exists after the failure');

  // 10: the lead deletes the partial VM.
  act(name(lead2, ws), 'clicks Delete partial VM');
  await ws.driver.clickMessageButton(lead2, failure, 'run_cleanup');
  const replies3 = await thread(ws, approval2, (m) => m.text.includes('Deleted lab-01'), 'the deletion');
  sees('the thread of REQ-3', render(slack, replies3.at(-1)!, '    │ '));
  check(![...vergeos.state.table('vms').values()].some((v) => v.name === 'lab-01'), 'VergeOS no longer has lab-01');
  check(vergeos.requestsTo('DELETE /vms/:key').length === 1, 'exactly one DELETE was sent');
  const audit2 = await waitFor(
    () => slack.channelMessages(SLACK_SIM.auditChannel).length >= 3 && slack.channelMessages(SLACK_SIM.auditChannel),
    'the audit lines',
  );
  sees('#vm-audit', audit2.map((m) => render(slack, m)).join('\n'));

  // 11–12: a batch: checked as a whole (too many is refused at submit), then three under one approval.
  act(name(requester, ws), 'asks for 20 × dev-{n} from `/vm-create web-server` (How many VMs: 20)');
  const batchForm = await openForm(ws, requester, 'web-server');
  const postsBefore = vergeos.requestsTo('POST /vms').length;
  const tooMany = await ws.driver.submit(requester, batchForm, { name: 'dev-{n}', count: '20' });
  const refused = Object.values((tooMany.json as { errors?: Record<string, string> } | undefined)?.errors ?? {})[0] ?? '';
  check(/^tier 1 has .* free .*; 20 × 100 GiB needs/.test(refused), `the batch is refused as a whole at submit (${refused})`);
  check(
    vergeos.requestsTo('POST /vms').length === postsBefore,
    `nothing was created for the refused batch (${vergeos.requestsTo('POST /vms').length} vs ${postsBefore})`,
  );
  sees('the form, under the OS Drive size', `    ${refused}`);
  act(name(requester, ws), 'changes it to 3 and submits');
  const batchApproval = await (async () => {
    const before = slack.channelMessages(SLACK_SIM.approvalChannel).length;
    const reply = await ws.driver.submit(requester, batchForm, { name: 'dev-{n}', count: '3' });
    check(reply.body === '', `the batch of 3 was accepted (got ${reply.body})`);
    return waitFor(() => slack.channelMessages(SLACK_SIM.approvalChannel)[before], 'the batch approval message');
  })();
  check(batchApproval.text.includes('asks for 3 VMs dev-{n} (dev-1 … dev-3)'), 'one approval message shows the batch');
  sees('#approvals', render(slack, batchApproval));
  act(name(lead, ws), 'approves the batch');
  await ws.driver.clickMessageButton(lead, batchApproval, 'request_approve');
  await thread(ws, batchApproval, (m) => m.text.includes('3 of 3 VMs ready'), 'the batch summary');
  // Edits are paced apart from posts: the progress message's last edit may land just after.
  const batchThread = await thread(ws, batchApproval, (m) => m.text.includes('finished 3 of 3 ready'), 'the progress message finished');
  sees('the thread of REQ-4', batchThread.map((m) => render(slack, m, '    │ ')).join('\n'));
  check(batchThread.length === 2, 'the batch thread has one progress message and one summary');
  for (const n of [1, 2, 3]) {
    const dev = [...vergeos.state.table('vms').values()].find((v) => v.name === `dev-${n}`);
    check(
      dev && JSON.stringify(batchThread[1]!.blocks).includes(`VM key *${String(dev.$key)}*, machine key *${String(dev.machine)}*`),
      `the summary has dev-${n}'s keys`,
    );
  }
  const batchAudit = await waitFor(() => slack.channelMessages(SLACK_SIM.auditChannel).find((m) => m.text.includes('3 × dev-{n}')), 'the batch audit line');
  sees('#vm-audit', render(slack, batchAudit));

  // 13: the audit log.
  act('auditor', 'runs `vmbot audit verify`');
  const verified = await verifyAuditLog(join(ws.dataDir, 'audit.jsonl'));
  check(verified.ok && verified.records > 20, 'the audit log verifies');
  sees('result', `    ${verified.records} records, hash chain intact`);
  check(slack.rateLimited().length === 0, "the Slack stand-in, enforcing Slack's rate limits, never had to refuse the bot (no 429)");
}

/**
 * The demo's approval policy: every new VM and change needs a lead (the default), except
 * snapshots, which their owner takes at will.
 */
const DEMO_POLICY = `version: 1
rules:
  - name: snapshots
    when: { action: [snapshot_create, snapshot_delete] }
    auto: true
`;

async function main(): Promise<void> {
  const policyDir = await mkdtemp(join(tmpdir(), 'vmbot-demo-policy-'));
  await writeFile(join(policyDir, 'policy.yml'), DEMO_POLICY);
  const ws = await startWorkspace({ keepData: keep, env: { POLICY_FILE: join(policyDir, 'policy.yml') } });
  try {
    await story(ws);
    out(`\nDemo complete in ${((Date.now() - started) / 1000).toFixed(1)} s: every step happened as described.`);
  } catch (err) {
    out(`\n✘ ${(err as Error).message}`);
    const log = ws.bot.log().trim();
    if (log) out(`\nbot log:\n${log.split('\n').slice(-20).join('\n')}`);
    await ws.close();
    await rm(policyDir, { recursive: true, force: true });
    process.exit(1);
  }
  if (!keep) {
    await ws.close();
    await rm(policyDir, { recursive: true, force: true });
    process.exit(0);
  }
  out(`
Everything keeps running (Ctrl-C to stop). To explore:
  the bot:            ${ws.bot.url}/slack/events   (GET ${ws.bot.url}/healthz)
  what Slack shows:   curl ${ws.slack.apiUrl.replace(/api\/$/, '')}__sim/state
  VergeOS:            curl -H 'Authorization: Bearer ${SIM_DEFAULT_API_KEY}' ${ws.vergeos.url}/api/v4/vms
  send a command:     npx vmbot slack-send --bot ${ws.bot.url} --slack ${ws.slack.apiUrl} --user ${SLACK_SIM.requester} 'list'
                      (add --curl to print the signed curl command instead)
  the CLI on the same data:
                      DATA_DIR=${ws.dataDir} VERGEOS_URL=${ws.vergeos.url} VERGEOS_API_KEY=${SIM_DEFAULT_API_KEY} npx vmbot runs
Users: ${[...ws.slack.users.values()]
    .filter((u) => u.id !== SLACK_SIM.bot)
    .map((u) => `${u.id} (${u.name})`)
    .join(', ')}; leads group ${SLACK_SIM.leadsGroup}.`);
  const stop = () => void ws.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await main();
