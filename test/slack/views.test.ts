/** Every view builder against Slack's limits, including the biggest specs the schema allows. */
import { describe, expect, it } from 'vitest';
import { loadRecipes, recipeFilesIn } from '../../src/vmspec/recipes.js';
import { parseSpec } from '../../src/vmspec/validate.js';
import { homeViewSchema, messageSchema, modalViewSchema } from '../../src/slack/limits.js';
import {
  approvalRequest,
  auditLine,
  batchFailureMessage,
  batchProgressMessage,
  batchSummaryMessages,
  decidedRequest,
  failureMessage,
  progressMessage,
  requesterReceipt,
  stepLine,
  summaryMessage,
} from '../../src/slack/views/messages.js';
import type { RunResult } from '../../src/provision/result.js';
import { helpMessage, homeView, listMessage, rejectModal, statusMessage } from '../../src/slack/views/other.js';
import { blockCount, canAdd, draftFromRecipe, metaFor, MAX_MODAL_BLOCKS, requestModal, type ModalDraft } from '../../src/slack/views/request-modal.js';
import type { RequestRecord } from '../../src/store/records.js';
import { MANIFESTS } from '../helpers/core.js';

const recipes = (await loadRecipes(await recipeFilesIn(MANIFESTS))).recipes;
const GROUP = '1f67f07e-f653-db95-c475-01b8a2ea0ff1';

function bigRequest(overrides: Partial<RequestRecord> & { approvals?: RequestRecord['approvals'] } = {}): RequestRecord {
  // A batch's request says it is one.
  const spec = parseSpec({
    vm: {
      name: 'x'.repeat(128),
      description: `<!channel> <@U123> & friends ${'d'.repeat(1900)}`,
      cpu_cores: 64,
      ram: '512GiB',
      cluster: '1',
      cloudinit_files: [{ name: 'user-data', contents: 'p'.repeat(60_000) }],
    },
    drives: Array.from({ length: 32 }, (_, i) => ({ name: `Drive ${i} ${'n'.repeat(100)}`, disksize: '10TiB', preferred_tier: '2' })),
    nics: Array.from({ length: 16 }, (_, i) => ({ name: `nic ${i}`, vnet: String(i + 1) })),
    devices: Array.from({ length: 8 }, () => ({ resource_group: GROUP, settings_args: { profile: 'x'.repeat(200) } })),
    power_on: true,
  });
  if (!parsed(spec)) throw new Error('spec');
  const now = new Date().toISOString();
  return {
    kind: overrides.batch ? 'batch' : 'vm',
    id: 'REQ-99999',
    version: 3,
    state: 'pending',
    createdAt: now,
    updatedAt: now,
    expiresAt: now,
    requester: 'U0REQUESTER',
    spec: spec.value,
    approvals: [],
    warnings: Array.from({ length: 20 }, (_, i) => `warning ${i} ${'w'.repeat(200)}`),
    permalink: 'https://sim.slack.test/archives/C1/p1',
    ...overrides,
  } as RequestRecord;
}
function parsed<T>(r: { ok: boolean; value?: T }): r is { ok: true; value: T } {
  return r.ok;
}

describe('Block Kit limits', () => {
  it('the request modal stays within 100 blocks at the most rows the form allows, for every recipe', () => {
    for (const recipe of [undefined, ...recipes]) {
      const draft: ModalDraft = draftFromRecipe(recipe, 'web-01', (_s, v) => `Label ${v}`);
      let meta = metaFor(draft, 0);
      // Keep adding drives, then NICs, then devices while the form says there is room.
      for (const [kind, list] of [
        ['d', 'drives'],
        ['n', 'nics'],
        ['v', 'devices'],
      ] as const) {
        while (canAdd(meta, kind)) {
          (draft[list] as Array<{ row: number }>).push({ row: meta.next });
          meta = metaFor(draft, 0);
        }
      }
      meta = { ...meta, q: ':bar_chart: Your quota (VMs made through the bot): 12 of 16 vCPU, 48 GiB of 64 GiB RAM' };
      const view = requestModal(draft, recipes, meta);
      expect(view.blocks.length).toBe(blockCount(meta));
      expect(view.blocks.length).toBeLessThanOrEqual(MAX_MODAL_BLOCKS);
      const checked = modalViewSchema.safeParse(view);
      expect(checked.success ? [] : checked.error.issues).toEqual([]);
      expect(view.private_metadata!.length).toBeLessThan(3000);
    }
  });

  it('messages for the largest spec fit one Slack message, with user text escaped', () => {
    const request = bigRequest();
    const result = {
      runId: 'run-x',
      name: request.spec.vm.name,
      state: 'succeeded' as const,
      vmKey: '42',
      machineKey: '52',
      drives: request.spec.drives.map((d, i) => ({ key: String(1000 + i), name: d.name! })),
      nics: request.spec.nics.map((n, i) => ({ key: String(2000 + i), name: `nic ${i}` })),
      devices: request.spec.devices.map((_, i) => ({ key: String(i), uuid: GROUP })),
      poweredOn: true,
    };
    const messages = [
      approvalRequest(request),
      decidedRequest({ ...request, state: 'rejected', decidedBy: 'U0LEAD1', decidedAt: request.createdAt, reason: `<!here> ${'r'.repeat(600)}` }),
      requesterReceipt(request),
      summaryMessage(request, result),
      failureMessage(request, 'Step 3 failed: '.repeat(200), 'created so far: '.repeat(100)),
      progressMessage(
        request,
        Array.from({ length: 60 }, (_, i) => stepLine({ index: i, total: 60, description: 'drive "x": 10 TiB disk, virtio-scsi, tier 2', key: String(i) })),
        true,
      ),
      ...(['provisioned', 'rejected', 'cancelled', 'expired', 'failed', 'cleaned_up'] as const).map((k) => auditLine(k, request, result)),
      helpMessage(recipes),
      listMessage(Array.from({ length: 40 }, () => request)),
      statusMessage(request, { keys: 'VM key 42', error: 'boom <!channel>' }),
    ];
    for (const message of messages) {
      const checked = messageSchema.safeParse(message);
      expect(checked.success ? [] : checked.error.issues.map((i) => `${message.text.slice(0, 40)}: ${i.message}`)).toEqual([]);
      const raw = JSON.stringify(message);
      expect(raw).not.toContain('<!channel>');
      expect(raw).not.toContain('<!here>');
      expect(raw).not.toContain('<@U123>');
    }
    expect(JSON.stringify(approvalRequest(request))).toContain('&lt;!channel&gt; &lt;@U123&gt; &amp; friends');
  });

  it('a batch of 500 fits: its approval, progress and failure messages, and a summary split over messages naming every VM once', () => {
    const request = bigRequest({
      batch: { count: 500, pattern: `${'b'.repeat(124)}-{n}` },
      spec: { ...bigRequest().spec, vm: { ...bigRequest().spec.vm, name: `${'b'.repeat(124)}-1` } },
    });
    const results: RunResult[] = Array.from({ length: 500 }, (_, i) => ({
      runId: `run-${i}`,
      name: `${'b'.repeat(124)}-${i + 1}`,
      state: i % 7 === 0 ? 'failed' : i % 11 === 0 ? 'not_started' : 'succeeded',
      vmKey: i % 11 === 0 ? null : String(1000 + i),
      machineKey: i % 11 === 0 ? null : String(5000 + i),
      drives: [],
      nics: [],
      devices: [],
      poweredOn: true,
      ...(i % 7 === 0 ? { error: { code: 'VERGEOS_TIER_FULL', message: `Step 2 failed: ${'e'.repeat(400)} <!channel>` } } : {}),
    }));
    const summary = batchSummaryMessages(request, results);
    expect(summary.length).toBeGreaterThan(1);
    const messages = [
      ...summary,
      approvalRequest(request),
      batchProgressMessage(
        request,
        { total: 500, ready: 400, failed: 72, notStarted: 28, failedNames: results.filter((r) => r.state === 'failed').map((r) => r.name) },
        false,
      ),
      batchFailureMessage(request, results, `the batch stopped after x failed: ${'s'.repeat(900)}`),
      auditLine('failed', request, undefined, results),
    ];
    for (const message of messages) {
      const checked = messageSchema.safeParse(message);
      expect(checked.success ? [] : checked.error.issues.map((i) => `${message.text.slice(0, 40)}: ${i.message}`)).toEqual([]);
      expect(JSON.stringify(message)).not.toContain('<!channel>');
    }
    const all = summary.map((m) => JSON.stringify(m.blocks)).join('\n');
    for (const r of results) expect(all.match(new RegExp(`[ *]${r.name}(\\*:|: )`, 'g'))).toHaveLength(1);
    expect(summary[0]!.text).toBe(`REQ-99999: ${results.filter((r) => r.state === 'succeeded').length} of 500 VMs ready (part 1 of ${summary.length})`);
  });

  it('the home tab and the reject modal fit', () => {
    const many = Array.from({ length: 200 }, (_, i) => bigRequest({ id: `REQ-${i}` }));
    for (const view of [homeView('U0LEAD1', many, many), homeView('U0REQUESTER', [], undefined)]) {
      const checked = homeViewSchema.safeParse(view);
      expect(checked.success ? [] : checked.error.issues).toEqual([]);
    }
    const reject = rejectModal('REQ-123456', 'x'.repeat(128));
    expect(modalViewSchema.safeParse(reject).success).toBe(true);
    expect(reject.title.text.length).toBeLessThanOrEqual(24);
  });

  it('the limits schema itself refuses what Slack refuses', () => {
    expect(modalViewSchema.safeParse({ type: 'modal', title: { type: 'plain_text', text: 'A title that is far too long' }, blocks: [] }).success).toBe(false);
    expect(
      modalViewSchema.safeParse({ type: 'modal', title: { type: 'plain_text', text: 'ok' }, blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })) })
        .success,
    ).toBe(false);
    expect(
      modalViewSchema.safeParse({ type: 'modal', title: { type: 'plain_text', text: 'ok' }, blocks: [], private_metadata: 'x'.repeat(3001) }).success,
    ).toBe(false);
    expect(messageSchema.safeParse({ text: 't', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) }).success).toBe(false);
  });
});

describe('secrets in messages', () => {
  it('the console password hash and secret-looking cloud-init lines never reach a message', () => {
    const spec = parseSpec({
      vm: {
        name: 'sec-01',
        console_pass_hash: '$6$rounds=5000$TOPSECRETHASH',
        cloudinit_files: [{ name: 'user-data', contents: '#cloud-config\npassword: hunter2\n' }],
      },
    });
    if (!spec.ok) throw new Error('spec');
    const now = new Date().toISOString();
    const request: RequestRecord = {
      kind: 'vm',
      id: 'REQ-1',
      version: 0,
      state: 'pending',
      createdAt: now,
      updatedAt: now,
      expiresAt: now,
      requester: 'U1',
      spec: spec.value,
      warnings: [],
      approvals: [],
    };
    const raw = JSON.stringify([
      approvalRequest(request),
      decidedRequest({ ...request, state: 'approved', decidedBy: 'U2', decidedAt: now }),
      auditLine('provisioned', request),
    ]);
    expect(raw).not.toContain('TOPSECRETHASH');
    expect(raw).not.toContain('hunter2');
    expect(raw).toContain('console password ***');
  });
});
