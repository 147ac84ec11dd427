/** The day-2 views within Slack's limits at their largest: every change form, the VM list, App Home, a change's approval message. */
import { describe, expect, it } from 'vitest';
import { homeViewSchema, messageSchema, modalViewSchema } from '../../src/slack/limits.js';
import { changeRequest } from '../../src/slack/views/change-messages.js';
import { homeView } from '../../src/slack/views/other.js';
import { diskAddForm, diskGrowForm, nicAddForm, resizeForm, snapshotCreateForm, snapshotName, snapshotsForm } from '../../src/slack/views/vm-change-forms.js';
import { myVmsMessage } from '../../src/slack/views/vms.js';
import type { RequestRecord, VmRecord } from '../../src/store/records.js';
import { changeCalls, describeChange } from '../../src/vmchange/describe.js';
import type { Snapshot } from '../../src/vergeos/types.js';
import { GIB } from '../../src/vmspec/units.js';
import { recipeSpec } from '../helpers/core.js';

const LONG = `vm-${'x'.repeat(60)}`;

async function bigVm(i = 0): Promise<VmRecord> {
  const spec = await recipeSpec('web-server', LONG);
  spec.drives = Array.from({ length: 120 }, (_, d) => ({
    name: `drive ${d} ${'d'.repeat(100)}`,
    media: 'disk' as const,
    interface: 'virtio-scsi' as const,
    disksize: (d + 1) * GIB,
  }));
  return {
    kind: 'vm',
    id: `vm-${i}`,
    version: 1,
    state: 'live',
    createdAt: '2031-03-01T00:00:00.000Z',
    updatedAt: '2031-03-01T00:00:00.000Z',
    name: LONG,
    owner: 'U0REQUESTER',
    runId: `run-mxbcmoh4-${String(i).padStart(6, '0')}`,
    requestId: `REQ-${1000 + i}`,
    keys: { vmKey: String(100 + i), machineKey: String(200 + i) },
    spec,
    needRestart: true,
    lease: { forMs: 7 * 86_400_000, endsAt: '2031-03-08T00:00:00.000Z', reminded: [], outbox: [] },
  };
}

const snapshots: Snapshot[] = Array.from({ length: 150 }, (_, i) => ({
  key: String(i + 1),
  name: `snap ${i} ${'s'.repeat(120)}`,
  description: '',
  createdAt: '2031-03-01T14:05:00.000Z',
  expiresAt: undefined,
  machineKey: '200',
  snapMachineKey: String(900 + i),
  quiesced: false,
  manual: true,
}));

describe('day-2 views within Slack limits', () => {
  it('every change form fits a modal at its largest (120 drives, 150 snapshots, a long name)', async () => {
    const vm = await bigVm();
    const meta = { runId: vm.runId, channel: 'C0GENERAL' };
    for (const view of [
      resizeForm(vm, meta),
      diskAddForm(vm, meta),
      diskGrowForm(vm, meta),
      nicAddForm(vm, meta),
      snapshotCreateForm(vm, meta, Date.UTC(2031, 2, 1, 14, 5)),
      snapshotsForm(vm, meta, snapshots, true),
      snapshotsForm(vm, meta, [], false),
    ])
      expect(modalViewSchema.safeParse(view).error).toBeUndefined();
    expect(snapshotName('web-01', Date.UTC(2031, 2, 1, 4, 7, 59))).toBe('web-01-20310301-0407');
  });

  it('the VM list fits one message however many VMs, saying how many more there are', async () => {
    const entries = await Promise.all(Array.from({ length: 30 }, async (_, i) => ({ vm: await bigVm(i), status: 'running' })));
    const message = myVmsMessage(entries, 'You have', 'https://vergeos.example.com');
    expect(messageSchema.safeParse(message).error).toBeUndefined();
    const shown = message.blocks.filter((b) => b.type === 'actions').length;
    expect(shown).toBeGreaterThanOrEqual(4);
    expect(JSON.stringify(message.blocks.at(-1))).toContain(`…and ${30 - shown} more`);
    const home = homeView(
      'U0REQUESTER',
      [],
      [],
      entries.map((e) => e.vm),
    );
    expect(homeViewSchema.safeParse(home).error).toBeUndefined();
    expect(JSON.stringify(home)).toContain('restart needed');
  });

  it("a change's approval message fits, with before → after and the calls in a code block", async () => {
    const vm = await bigVm();
    const change = { action: 'disk_grow' as const, drive: vm.spec.drives[3]!.name!, disksize: 500 * GIB };
    const request = {
      kind: 'change',
      id: 'REQ-7',
      requester: 'U0REQUESTER',
      state: 'pending',
      createdAt: '2031-03-01T00:00:00.000Z',
      expiresAt: '2031-03-02T00:00:00.000Z',
      spec: vm.spec,
      approvals: [],
      warnings: ['w'.repeat(3000)],
      change: { runId: vm.runId, change, shown: describeChange(change, vm), calls: changeCalls(change, vm.keys) },
    } as unknown as RequestRecord;
    const message = changeRequest(request, ['S0LEADS']);
    expect(messageSchema.safeParse(message).error).toBeUndefined();
    expect(JSON.stringify(message.blocks)).toContain('4 GiB → 500 GiB');
    expect(JSON.stringify(message.blocks)).toContain('```PUT /api/v4/machine_drives/');
  });
});
