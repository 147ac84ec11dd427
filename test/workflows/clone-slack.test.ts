/**
 * "Another like this" from Slack: its two listeners called directly, as Bolt would call them (a
 * fake `ack` and payload), over the real core (compose() against the VergeOS simulator, real
 * files): the owner's click opens the form offering `<name>-copy`, a bystander's opens nothing;
 * the submission files a `clone` request through the core (shown to the leads), once per
 * submission; a taken name or someone else's VM is refused under the name field.
 */
import type { BlockAction, ViewSubmitAction } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { compose, type Core } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { VergeosSim } from '../../src/sim/index.js';
import { Approvers } from '../../src/slack/approvers.js';
import { submitClone, type CloneContext } from '../../src/slack/listeners/actions/clone-submit.js';
import { openCloneForm } from '../../src/slack/listeners/actions/clone-vm.js';
import type { SubmissionArgs } from '../../src/slack/listeners/args.js';
import type { MessageRef } from '../../src/slack/notifier.js';
import { CLONE_MODAL_CALLBACK, CLONE_NAME_BLOCK, cloneButton } from '../../src/slack/views/clone-modal.js';
import type { Message } from '../../src/slack/views/messages.js';
import { FileAuditLog } from '../../src/store/audit-file.js';
import { LowdbStore } from '../../src/store/lowdb.js';
import type { VmRecord } from '../../src/store/records.js';
import { recipeSpec, tempDir } from '../helpers/core.js';
import { simAndClient } from '../helpers/vergeos.js';

const OWNER = 'UOWNER';
const LEAD = 'ULEAD1';
const BYSTANDER = 'UBYSTANDER';
const APPROVALS = 'CAPPROVALS';

type Said = { what: 'ack'; response?: unknown } | { what: 'tell'; user: string; text: string } | { what: string; text?: string };

describe('"Another like this" from Slack', () => {
  let sim: VergeosSim;
  let done: () => Promise<void>;
  let core: Core;
  let ctx: CloneContext;
  let said: Said[];
  let opened: Array<{ trigger_id: string; view: { callback_id?: string; private_metadata?: string; blocks: unknown[] } }>;
  let vm: VmRecord;

  beforeEach(async () => {
    const started = await simAndClient({ timing: { importMs: 20, startMs: 0, stopMs: 0 } });
    sim = started.sim;
    const temp = await tempDir();
    const env = loadConfig({ VERGEOS_URL: sim.url, DATA_DIR: temp.dir, VM_APPROVERS: LEAD }, []);
    core = compose(
      {
        env,
        logger: createLogger({ level: 'silent' }),
        store: await LowdbStore.open(temp.dir),
        audit: await FileAuditLog.open(temp.dir),
        vergeos: started.client,
      },
      { provisioner: { importPoll: { intervalMs: 10, timeoutMs: 5_000 }, pollMs: 10, stopTimeoutMs: 200 }, preflightMs: 5_000 },
    );
    said = [];
    opened = [];
    const notifier = {
      tell: async (user: string, _channel: string | undefined, message: Message) => void said.push({ what: 'tell', user, text: message.text }),
      post: async (channel: string, message: Message): Promise<MessageRef | undefined> => (
        said.push({ what: `post ${channel}`, text: message.text }),
        { channel, ts: '1700000000.000100' }
      ),
      update: async () => true,
      dm: async (user: string): Promise<MessageRef | undefined> => (said.push({ what: `dm ${user}` }), undefined),
      permalink: async () => undefined,
    };
    ctx = {
      ...core,
      approvers: new Approvers([LEAD]),
      notifier,
      slack: { views: { open: async (args: (typeof opened)[number]) => (opened.push(args), { ok: true }) } },
      afterAck: { run: <T>(work: () => Promise<T>) => work() },
      approvalChannel: APPROVALS,
      auditChannel: 'CAUDIT',
    } as unknown as CloneContext;
    const run = await core.provisioner.execute((await core.provisioner.createRun(await recipeSpec('web-server', 'app-01'), { actor: OWNER })).id);
    vm = core.provisioner.ownedVm(run.id)!;
    done = async () => {
      await core.execution.idle();
      await core.provisioner.stop();
      await core.audit.close();
      await core.store.close();
      await started.close();
      await temp.remove();
    };
  });
  afterEach(() => done());

  const ack = () => vi.fn(async (response?: unknown) => void said.push({ what: 'ack', ...(response === undefined ? {} : { response }) }));
  const click = (user: string): BlockAction =>
    ({
      type: 'block_actions',
      user: { id: user },
      actions: [{ ...cloneButton(vm.runId), block_id: 'b', action_ts: '1' }],
      channel: { id: 'DOWNER' },
      trigger_id: 'trigger-1',
    }) as unknown as BlockAction;
  const submission = (user: string, name: string, viewId = 'V-clone-1') => ({
    body: { type: 'view_submission', user: { id: user } } as unknown as ViewSubmitAction,
    view: {
      id: viewId,
      callback_id: CLONE_MODAL_CALLBACK,
      private_metadata: JSON.stringify({ runId: vm.runId }),
      state: { values: { [CLONE_NAME_BLOCK]: { value: { type: 'plain_text_input', value: name } } } },
    } as unknown as ViewSubmitAction['view'],
    context: { requester: { ok: true, lead: false } } as unknown as SubmissionArgs['context'],
  });

  it("the owner's click opens the form offering <name>-copy; a bystander's opens nothing and is told", async () => {
    await openCloneForm({ ack: ack(), body: click(OWNER) }, ctx);
    expect(opened).toHaveLength(1);
    expect(opened[0]!.view).toMatchObject({ callback_id: CLONE_MODAL_CALLBACK, private_metadata: JSON.stringify({ runId: vm.runId, channel: 'DOWNER' }) });
    expect(opened[0]!.view.blocks[1]).toMatchObject({ block_id: CLONE_NAME_BLOCK, element: { initial_value: 'app-01-copy' } });

    said = [];
    await openCloneForm({ ack: ack(), body: click(BYSTANDER) }, ctx);
    expect(opened).toHaveLength(1);
    expect(said).toEqual([
      { what: 'ack' },
      { what: 'tell', user: BYSTANDER, text: `app-01 belongs to <@${OWNER}>; only its owner or a lead may do that. Nothing was changed.` },
    ]);
  });

  it('the submission files a clone request for the leads, once however often it is delivered', async () => {
    await submitClone({ ack: ack(), ...submission(OWNER, 'app-01-copy') }, ctx);
    const [request] = core.requests.byRequester(OWNER);
    expect(request).toMatchObject({ kind: 'clone', state: 'pending', clone: { runId: vm.runId, name: 'app-01' }, spec: { vm: { name: 'app-01-copy' } } });
    expect(said).toEqual([{ what: 'ack' }, { what: `post ${APPROVALS}`, text: expect.stringContaining(request!.id) }, { what: `dm ${OWNER}` }]);
    expect(core.requests.get(request!.id).approvalMessage).toEqual({ channel: APPROVALS, ts: '1700000000.000100' });

    said = [];
    await submitClone({ ack: ack(), ...submission(OWNER, 'app-01-copy') }, ctx);
    expect(said).toEqual([{ what: 'ack' }]);
    expect(core.requests.byRequester(OWNER)).toHaveLength(1);
    expect(sim.requestsTo('POST /vm_actions').filter((r) => (r.body as { action: string }).action === 'clone')).toEqual([]);
  });

  it('a taken name, or a VM that is someone else’s, is refused under the name field, nothing filed', async () => {
    await submitClone({ ack: ack(), ...submission(OWNER, 'app-01', 'V-clone-2') }, ctx);
    expect(said).toEqual([
      {
        what: 'ack',
        response: {
          response_action: 'errors',
          errors: { [CLONE_NAME_BLOCK]: `app-01 is already taken in VergeOS (VM key ${vm.keys.vmKey}); pick another name` },
        },
      },
    ]);
    said = [];
    await submitClone({ ack: ack(), ...submission(BYSTANDER, 'mine-now', 'V-clone-3') }, ctx);
    expect(said).toEqual([
      {
        what: 'ack',
        response: {
          response_action: 'errors',
          errors: { [CLONE_NAME_BLOCK]: "app-01 is someone else's; only its owner or a lead may copy it. Nothing was filed." },
        },
      },
    ]);
    expect([...core.requests.byRequester(OWNER), ...core.requests.byRequester(BYSTANDER)]).toEqual([]);
  });
});
