/**
 * Listener handlers called directly, as Bolt would call them but without Bolt or HTTP: a fake
 * `ack` and payload, and a context of the real core (compose() over the VergeOS simulator and
 * real files) with a Notifier stand-in that records what each user is told, in order.
 */
import { join } from 'node:path';
import type { BlockAction, ViewSubmitAction } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { compose, type Core } from '../../../src/compose.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';
import { PolicyHolder } from '../../../src/policy/watch.js';
import type { VergeosSim } from '../../../src/sim/index.js';
import { Approvers } from '../../../src/slack/approvers.js';
import type { BotContext } from '../../../src/slack/context.js';
import { approveRequest } from '../../../src/slack/listeners/actions/approve-request.js';
import { retryRequest } from '../../../src/slack/listeners/actions/retry-request.js';
import { powerOff } from '../../../src/slack/listeners/actions/vm-power.js';
import { submitRejection } from '../../../src/slack/listeners/views/submit-rejection.js';
import type { MessageRef } from '../../../src/slack/notifier.js';
import type { Message } from '../../../src/slack/views/messages.js';
import { coreForListeners } from '../../../src/slack/wire.js';
import { REJECT_MODAL_CALLBACK, REJECT_REASON_BLOCK } from '../../../src/slack/views/other.js';
import { FileAuditLog } from '../../../src/store/audit-file.js';
import { LowdbStore } from '../../../src/store/lowdb.js';
import type { RequestRecord } from '../../../src/store/records.js';
import { recipeSpec, tempDir } from '../../helpers/core.js';
import { simAndClient } from '../../helpers/vergeos.js';

const REQUESTER = 'UREQUESTER';
const LEAD = 'ULEAD1';
const BYSTANDER = 'UBYSTANDER';
const APPROVALS = 'CAPPROVALS';
const AUDIT = 'CAUDIT';

/** Everything a handler did that Slack would see, in order: its ack, then what it said. */
type Said = { what: 'ack'; response?: unknown } | { what: 'tell'; user: string; channel: string | undefined; text: string } | { what: string };

describe('listener handlers, without Bolt', () => {
  let sim: VergeosSim;
  let closeSim: () => Promise<void>;
  let removeDir: () => Promise<void>;
  let core: Core;
  let ctx: BotContext;
  let said: Said[];

  beforeEach(async () => {
    const started = await simAndClient({ timing: { importMs: 20, startMs: 0, stopMs: 0 } });
    sim = started.sim;
    closeSim = started.close;
    const temp = await tempDir();
    removeDir = temp.remove;
    const env = loadConfig({ VERGEOS_URL: sim.url, DATA_DIR: temp.dir, VM_APPROVERS: LEAD }, []);
    const logger = createLogger({ level: 'silent' });
    const policy = await PolicyHolder.open(join(temp.dir, 'policy.yml'), { optional: true });
    core = compose(
      { env, logger, store: await LowdbStore.open(temp.dir), audit: await FileAuditLog.open(temp.dir), vergeos: started.client },
      { policy, provisioner: { importPoll: { intervalMs: 10, timeoutMs: 5_000 }, pollMs: 10, stopTimeoutMs: 200 } },
    );
    said = [];
    const notifier = {
      tell: async (user: string, channel: string | undefined, message: Message) => void said.push({ what: 'tell', user, channel, text: message.text }),
      post: async (channel: string): Promise<MessageRef | undefined> => (said.push({ what: `post ${channel}` }), undefined),
      update: async (ref: MessageRef) => (said.push({ what: `update ${ref.channel}/${ref.ts}` }), true),
      dm: async (user: string): Promise<MessageRef | undefined> => (said.push({ what: `dm ${user}` }), undefined),
    };
    ctx = {
      ...coreForListeners(core),
      policy,
      // Leads are user ids here, so nothing asks Slack who is in a group.
      approvers: new Approvers([LEAD]),
      notifier,
      slack: {},
      homeTabs: { vmChanged: () => undefined },
      approvalChannel: APPROVALS,
      auditChannel: AUDIT,
    } as unknown as BotContext;
  });

  afterEach(async () => {
    await core.execution.idle();
    await core.provisioner.stop();
    await core.audit.close();
    await core.store.close();
    await closeSim();
    await removeDir();
  });

  const ack = () => vi.fn(async (response?: unknown) => void said.push({ what: 'ack', ...(response === undefined ? {} : { response }) }));

  /** A button click as Slack sends it: who, the button's value, and the message it sits on. */
  const click = (user: string, value: string, where: { channel: string; ts: string }): BlockAction =>
    ({
      type: 'block_actions',
      user: { id: user },
      actions: [{ type: 'button', action_id: 'clicked', block_id: 'b', value, action_ts: '1' }],
      channel: { id: where.channel },
      container: { type: 'message', channel_id: where.channel, message_ts: where.ts },
      trigger_id: 'trigger-1',
    }) as unknown as BlockAction;

  async function filed(name: string): Promise<RequestRecord> {
    const outcome = await core.filing.file({
      requester: REQUESTER,
      unlimited: false,
      specs: [await recipeSpec('web-server', name)],
      sourceViewId: `view-${name}`,
    });
    if (outcome.kind !== 'filed') throw new Error(`not filed: ${JSON.stringify(outcome.errors)}`);
    return outcome.request;
  }

  it('Approve: a bystander is told only leads may, after the ack, and nothing is approved; from elsewhere the request does not exist', async () => {
    const request = await filed('lh-01');
    const onMessage = { channel: APPROVALS, ts: '1700000000.000100' };

    const first = ack();
    await approveRequest({ ack: first, body: click(BYSTANDER, request.id, onMessage) }, ctx);
    expect(first).toHaveBeenCalledTimes(1);
    expect(said).toEqual([
      { what: 'ack' },
      { what: 'tell', user: BYSTANDER, channel: APPROVALS, text: `Only leads (<@${LEAD}>) may approve VM requests; nothing was changed.` },
    ]);
    const after = core.requests.get(request.id);
    expect(after).toMatchObject({ state: 'pending', approvals: [] });
    // The click said where the approval message is; that is recorded even when the clicker is refused.
    expect(after.approvalMessage).toEqual(onMessage);

    said = [];
    const second = ack();
    await approveRequest({ ack: second, body: click(BYSTANDER, request.id, { channel: 'D0BYSTANDER', ts: '1700000000.000200' }) }, ctx);
    expect(second).toHaveBeenCalledTimes(1);
    expect(said).toEqual([{ what: 'ack' }, { what: 'tell', user: BYSTANDER, channel: 'D0BYSTANDER', text: `There is no request ${request.id}.` }]);
    expect(core.requests.get(request.id)).toMatchObject({ state: 'pending', approvals: [] });
  });

  it('Power off: someone who does not own the VM is refused with the exact sentence and VergeOS is not asked; the owner powers it off once', async () => {
    const request = await filed('lh-02');
    const onMessage = { channel: APPROVALS, ts: '1700000000.000300' };
    const approve = ack();
    await approveRequest({ ack: approve, body: click(LEAD, request.id, onMessage) }, ctx);
    expect(approve).toHaveBeenCalledTimes(1);
    await core.execution.idle();
    expect(core.requests.get(request.id).state).toBe('succeeded');
    const [run] = core.provisioner.runsForRequest(request.id);
    const poweroffs = () => sim.requestsTo('POST /vm_actions').filter((r) => (r.body as { action: string }).action === 'poweroff');
    const dm = { channel: 'D0MINE', ts: '1700000000.000400' };

    said = [];
    const refused = ack();
    await powerOff({ ack: refused, body: click(BYSTANDER, run!.id, dm) }, ctx);
    expect(refused).toHaveBeenCalledTimes(1);
    expect(said).toEqual([
      { what: 'ack' },
      {
        what: 'tell',
        user: BYSTANDER,
        channel: dm.channel,
        text: `lh-02 belongs to <@${REQUESTER}>; only its owner or a lead may do that. Nothing was changed.`,
      },
    ]);
    expect(poweroffs()).toHaveLength(0);

    said = [];
    const owner = ack();
    await powerOff({ ack: owner, body: click(REQUESTER, run!.id, dm) }, ctx);
    expect(owner).toHaveBeenCalledTimes(1);
    expect(said).toEqual([{ what: 'ack' }, { what: 'tell', user: REQUESTER, channel: dm.channel, text: 'lh-02 is powered off.' }]);
    expect(poweroffs()).toHaveLength(1);

    said = [];
    await powerOff({ ack: ack(), body: click(REQUESTER, run!.id, dm) }, ctx);
    expect(said).toEqual([{ what: 'ack' }, { what: 'tell', user: REQUESTER, channel: dm.channel, text: 'lh-02 is already stopped; nothing was changed.' }]);
    expect(poweroffs()).toHaveLength(1);
  });

  it('Retry: only leads, told by name after the ack, and the request is left as it was', async () => {
    const request = await filed('lh-03');
    const acked = ack();
    await retryRequest({ ack: acked, body: click(REQUESTER, request.id, { channel: APPROVALS, ts: '1700000000.000500' }) }, ctx);
    expect(acked).toHaveBeenCalledTimes(1);
    expect(said).toEqual([
      { what: 'ack' },
      { what: 'tell', user: REQUESTER, channel: APPROVALS, text: `Only leads (<@${LEAD}>) may retry provisioning; nothing was changed.` },
    ]);
    expect(core.requests.get(request.id).state).toBe('pending');
  });

  it('the rejection form: a reason under three letters is answered on its field, and nothing else happens', async () => {
    const request = await filed('lh-04');
    const acked = ack();
    const view = {
      id: 'V1',
      callback_id: REJECT_MODAL_CALLBACK,
      private_metadata: request.id,
      state: { values: { [REJECT_REASON_BLOCK]: { value: { type: 'plain_text_input', value: ' no ' } } } },
    } as unknown as ViewSubmitAction['view'];
    await submitRejection(
      { ack: acked, body: { type: 'view_submission', user: { id: LEAD }, view } as unknown as ViewSubmitAction, view, context: { isEnterpriseInstall: false } },
      ctx,
    );
    expect(acked).toHaveBeenCalledTimes(1);
    expect(said).toEqual([
      { what: 'ack', response: { response_action: 'errors', errors: { [REJECT_REASON_BLOCK]: 'Say why, so the requester can do something about it.' } } },
    ]);
    expect(core.requests.get(request.id).state).toBe('pending');
  });
});
