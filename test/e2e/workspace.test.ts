/**
 * End to end with the bot as its own process (`vmbot start`, HTTP mode), the Slack stand-in and
 * the VergeOS simulator on loopback, and the driver playing users.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startWorkspace, waitFor } from '../../src/demo/workspace.js';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the bot as a separate process', () => {
  it('survives SIGKILL mid-provisioning: the restarted bot finishes the run with no duplicate VM', async () => {
    const ws = await startWorkspace();
    try {
      const { slack, vergeos } = ws;
      await ws.driver.command(SLACK_SIM.requester, 'gpu-workstation');
      const modal = await waitFor(() => slack.openView(SLACK_SIM.requester), 'the modal');
      expect((await ws.driver.submit(SLACK_SIM.requester, modal, { name: 'crash-01' })).body).toBe('');
      const approval = await waitFor(() => slack.channelMessages(SLACK_SIM.approvalChannel)[0], 'the approval message');
      // VergeOS takes the second drive but never answers: the bot is mid-step when it dies.
      vergeos.faults.add({ route: 'POST /machine_drives', nth: 2, hang: true, commit: true });
      await ws.driver.clickMessageButton(SLACK_SIM.lead1, approval, 'request_approve');
      await waitFor(() => vergeos.requests.find((r) => r.outcome === 'hung'), 'the hung request');
      await ws.killBot();
      expect(ws.bot.child.signalCode).toBe('SIGKILL');
      vergeos.faults.clear();

      await ws.startBot();
      const summary = await waitFor(
        () => slack.thread(approval.channel, approval.ts).find((m) => m.text.includes('is ready')),
        'the summary after restart',
        30_000,
      );
      const thread = slack.thread(approval.channel, approval.ts).map((m) => m.text);
      expect(thread.some((t) => t.includes('The bot restarted while provisioning'))).toBe(true);
      const vms = [...vergeos.state.table('vms').values()].filter((v) => v.name === 'crash-01');
      expect(vms).toHaveLength(1);
      const machine = String(vms[0]!.machine);
      const drives = [...vergeos.state.table('machine_drives').values()].filter((d) => String(d.machine) === machine);
      expect(drives.map((d) => d.name).sort()).toEqual(['OS Drive', 'Scratch']);
      expect(vergeos.requestsTo('POST /vms')).toHaveLength(1);
      expect(vergeos.requestsTo('POST /machine_drives')).toHaveLength(2); // the hung one was found, not re-sent
      expect([...vergeos.state.table('machine_devices').values()].filter((d) => String(d.machine) === machine)).toHaveLength(1);
      expect(summary.text).toContain(`VM key ${String(vms[0]!.$key)}, machine key ${machine}`);
    } finally {
      await ws.close();
    }
  }, 60_000);

  it('npm run demo tells the whole story and exits 0', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/demo/demo.ts'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(run.stdout).toContain('Demo complete');
    expect(run.status).toBe(0);
    for (const line of [
      '@bo.bystander clicks Approve',
      'Only leads (@leads) may approve VM requests',
      'web-01 is ready',
      '🌐 web-01: uplink `10.3.',
      'resize: 4 vCPU, 8 GiB RAM → 6 vCPU, 12 GiB RAM',
      'PUT /api/v4/vms/42 {"cpu_cores":6,"ram":12288}',
      '— done, asked by @riley.requester, approved by @lee.lead (REQ-2).',
      'take snapshot web-01-before-upgrade',
      'allowed by rule snapshots',
      'the storage tier 2 is full',
      'Deleted lab-01',
      'hash chain intact',
    ]) {
      expect(run.stdout).toContain(line);
    }
  }, 70_000);
});
