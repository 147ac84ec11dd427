/**
 * A full disk under the running Slack bot: a form submission gets a field error and nothing is
 * filed, /readyz says why until space is back; a run paused mid-way is told in its thread (not
 * failed) and resumed by the bot once the store takes writes, each VM created once.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { verifyAuditLog } from '../../src/store/audit.js';
import { startRig, textOf, until, type Rig } from '../helpers/bot.js';
import { faultyFs } from '../helpers/faulty-fs.js';
import { fileRequest } from '../helpers/flows.js';

interface Readyz {
  status: number;
  body: { ok: boolean; ready: boolean; reason?: string; checks: Record<string, { ok: boolean; problem?: string }> };
}

async function readyz(rig: Rig): Promise<Readyz> {
  const res = await request(`${rig.driver.botUrl}/readyz`);
  return { status: res.statusCode, body: (await res.body.json()) as Readyz['body'] };
}

/** Polls /readyz (one request at a time, paced by `until`) until it answers `status`; each poll also lets the bot see a live store problem. */
function readyzUntil(rig: Rig, status: number): Promise<Readyz> {
  let inFlight = false;
  let last: Readyz | undefined;
  return until(() => {
    if (last?.status === status) return last;
    if (!inFlight) {
      inFlight = true;
      void readyz(rig)
        .then((answer) => (last = answer))
        .catch(() => undefined)
        .finally(() => (inFlight = false));
    }
    return undefined;
  }, `/readyz to answer ${status}`);
}

/** The journal file the store appends to now. */
function journalOf(rig: Rig): string {
  const dir = join(rig.dir, 'data');
  const names = readdirSync(dir)
    .filter((n) => /^vmbot\.journal\.\d+\.jsonl$/.test(n))
    .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]));
  return join(dir, names.at(-1)!);
}

const CANNOT_FILE = (problem: string) =>
  `The bot can't file requests right now: ${problem}. Nothing was filed; submit again in a few minutes (the form keeps what you entered).`;

describe('a full disk under the Slack bot', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('a submission gets a field error and files nothing, /readyz is 503 with the reason; with space back it is 200 and the same submission files', async () => {
    const fs = faultyFs();
    rig = await startRig({ fs });
    await readyzUntil(rig, 200);
    await rig.driver.command(SLACK_SIM.requester, 'web-server');
    const modal = await until(() => rig!.slack.openView(SLACK_SIM.requester), 'the request modal');

    fs.fill();
    const refused = await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'disk-01' });
    expect(refused.status).toBe(200);
    const problem = `can't write ${journalOf(rig)}: the disk is full (ENOSPC)`;
    // Under the name block: the form stays open with what was entered.
    expect(refused.json).toEqual({ response_action: 'errors', errors: { 'name.0': CANNOT_FILE(problem) } });
    // Nothing filed: no request in the store, no approval message, no receipt.
    expect(rig.store.listRequests()).toEqual([]);
    expect(rig.store.getRequest('REQ-1')).toBeUndefined();
    expect(rig.slack.channelMessages(SLACK_SIM.approvalChannel)).toEqual([]);
    expect(rig.slack.dms(SLACK_SIM.requester)).toEqual([]);
    // /readyz says so at once (the failed write, not the next background check).
    const down = await readyz(rig);
    expect(down.status).toBe(503);
    expect(down.body.ok).toBe(false);
    expect(down.body.reason).toBe(`store: ${problem}`);
    expect(down.body.checks.store).toMatchObject({ ok: false, problem });

    fs.free();
    const up = await readyzUntil(rig, 200);
    expect(up.body).toMatchObject({ ok: true, ready: true, checks: { store: { ok: true } } });
    const filed = await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'disk-01' });
    expect(filed.status).toBe(200);
    expect(filed.body).toBe('');
    const approval = await until(() => rig!.slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'the approval message');
    expect(approval.text).toContain('REQ-1');
    expect(rig.store.getRequest('REQ-1')).toMatchObject({ state: 'pending', requester: SLACK_SIM.requester, spec: { vm: { name: 'disk-01' } } });
    expect(rig.store.listRequests()).toHaveLength(1);

    await rig.bot.idle();
    await rig.restart();
    expect(rig.store.getRequest('REQ-1')?.state).toBe('pending');
    expect(await verifyAuditLog(rig.audit.file)).toEqual({ ok: true, records: expect.any(Number) });
  });

  it('a run pauses in its thread (not failed) and the bot resumes it once the store takes writes: one VM, every key', async () => {
    const fs = faultyFs();
    rig = await startRig({ fs, takeOverMs: 50 });
    const approval = await fileRequest(rig, 'disk-run-01');
    // The disk fills while VergeOS creates the NIC: the NIC exists, its key can't be saved.
    const unhook = rig.vergeos.onRequest('POST /machine_nics', () => fs.fill());
    await rig.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');

    const thread = () => rig!.slack.thread(SLACK_SIM.approvalChannel, approval.ts);
    const paused = await until(() => thread().find((m) => m.text.startsWith(':double_vertical_bar:')), 'the pause message');
    // The NIC's done is kept in memory (journaled with the next save); the write that meets the full disk is its audit record.
    const problem = `can't write ${rig.audit.file}: the disk is full (ENOSPC)`;
    expect(paused.text).toBe(
      `:double_vertical_bar: Paused: the bot can't save its records right now (${problem}). Nothing more is sent to VergeOS until it can; then it resumes from here by itself, and nothing is created twice.`,
    );
    unhook();
    const run = rig.store.listRuns()[0]!;
    expect(rig.bot.ctx.provisioner.pausedForStore(run.id)).toBe(true);
    // Paused, not failed: the request is still provisioning, the run still running.
    expect(rig.store.getRequest('REQ-1')?.state).toBe('provisioning');
    expect(rig.store.getRun(run.id)?.state).toBe('running');
    // /readyz says why, though the store's own writes never failed.
    const down = await readyz(rig);
    expect(down.status).toBe(503);
    expect(down.body.reason).toBe(`store: ${problem}`);
    // While the disk is full the bot does not take it over (it would only pause again): nothing more sent.
    expect(thread().some((m) => m.text.startsWith(':arrows_counterclockwise:'))).toBe(false);
    expect(rig.vergeos.requestsTo('POST /machine_nics')).toHaveLength(1);
    expect(rig.vergeos.requestsTo('POST /vm_actions')).toHaveLength(0);

    fs.free();
    await readyzUntil(rig, 200);
    const resumed = await until(() => thread().find((m) => m.text.startsWith(':arrows_counterclockwise:')), 'the resume message');
    const summary = await until(() => thread().find((m) => m.text.includes('is ready')), 'the summary');
    await until(() => rig!.store.getRequest('REQ-1')?.state === 'succeeded' || undefined, 'the request to succeed');
    await rig.bot.idle();

    // VM, drive and NIC were done before the pause; power-on is what was left.
    expect(resumed.text).toBe(':arrows_counterclockwise: The bot can save its records again: resuming after step 3 (nothing is created twice).');
    // Exactly one VM, with each child created once (the NIC was found, not sent again).
    const vms = [...rig.vergeos.state.table('vms').values()].filter((v) => v.name === 'disk-run-01');
    expect(vms).toHaveLength(1);
    const vm = vms[0]!;
    const machine = String(vm.machine);
    const drives = [...rig.vergeos.state.table('machine_drives').values()].filter((d) => String(d.machine) === machine);
    const nics = [...rig.vergeos.state.table('machine_nics').values()].filter((n) => String(n.machine) === machine);
    expect(drives).toHaveLength(1);
    expect(nics).toHaveLength(1);
    expect(rig.vergeos.requestsTo('POST /vms')).toHaveLength(1);
    expect(rig.vergeos.requestsTo('POST /machine_drives')).toHaveLength(1);
    expect(rig.vergeos.requestsTo('POST /machine_nics')).toHaveLength(1);
    // The summary has every key.
    expect(summary.text).toBe(`REQ-1: disk-run-01 is ready — VM key ${String(vm.$key)}, machine key ${machine}`);
    expect(summary.blocks).toEqual([
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `:tada: *disk-run-01 is ready.*\nVM key *${String(vm.$key)}*, machine key *${machine}*\ndrive "OS Drive": *${String(drives[0]!.$key)}*\nNIC "uplink": *${String(nics[0]!.$key)}*\npower: on\nconsole: <${rig.vergeos.url}/#/vm-console/${String(vm.$key)}|open in VergeOS>\naddresses: posted here once VergeOS reports them`,
        },
      },
    ]);
    // The thread: the progress message (edited to its end), the pause, the resume, the summary; nothing else.
    // The progress message's last edit is paced on its own; it may land after the summary.
    await until(() => thread()[0]?.text.endsWith(': finished') || undefined, 'the progress message to say finished');
    expect(thread().map((m) => m.text)).toEqual(['Provisioning disk-run-01: finished', paused.text, resumed.text, summary.text]);
    // No failure was ever told: nothing with :x:, no "failed", in the thread, the approval message or the requester's DMs.
    const told = [...thread(), rig.slack.messages.find((m) => m.ts === approval.ts)!, ...rig.slack.dms(SLACK_SIM.requester)].map(textOf).join('\n');
    expect(told).not.toContain(':x:');
    expect(told).not.toMatch(/failed/i);
    expect(rig.slack.channelMessages(SLACK_SIM.auditChannel).map((m) => m.text)).toEqual([expect.stringMatching(/disk-run-01\* provisioned · VM key /)]);

    await rig.restart();
    expect(rig.store.getRequest('REQ-1')?.state).toBe('succeeded');
    expect(rig.store.getRun(run.id)?.state).toBe('succeeded');
    expect(await verifyAuditLog(rig.audit.file)).toEqual({ ok: true, records: expect.any(Number) });
  });
});
