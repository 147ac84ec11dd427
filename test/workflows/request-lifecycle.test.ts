/**
 * The request lifecycle through the core's workflows alone (no Bolt, no Slack): file, decide,
 * approve, execute, record, retry, clean up, recover, expire — against the VergeOS simulator,
 * real files, and an observer that records what an edge would be told.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compose, type Core } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { RunEvent } from '../../src/provision/provisioner.js';
import { RequestError } from '../../src/requests/errors.js';
import { FileAuditLog } from '../../src/store/audit-file.js';
import { LowdbStore } from '../../src/store/lowdb.js';
import type { RequestRecord, RunRecord } from '../../src/store/records.js';
import type { VergeosSim } from '../../src/sim/index.js';
import type { CleanupOutcome, ExecutionObserver, StartReason } from '../../src/workflows/execute-request.js';
import { recipeSpec, tempDir } from '../helpers/core.js';
import { simAndClient } from '../helpers/vergeos.js';

const REQUESTER = 'UREQUESTER';
const LEAD = 'ULEAD1';
const OTHER_LEAD = 'ULEAD2';

/** What an edge would be told, in order. */
type Told =
  | { what: 'started'; id: string; reason: StartReason }
  | { what: 'event'; id: string; type: RunEvent['type']; step?: string }
  | { what: 'finish' | 'halt'; id: string }
  | { what: 'finished'; id: string; state: string; runs: string[] }
  | { what: 'cleanedUp'; id: string; outcome: Omit<CleanupOutcome, 'request'> }
  | { what: 'cleanupFailed'; id: string };

function recorder(): ExecutionObserver & { told: Told[] } {
  const told: Told[] = [];
  return {
    told,
    started(request: RequestRecord, reason: StartReason) {
      told.push({ what: 'started', id: request.id, reason });
      return {
        show: () => undefined,
        onEvent: (e: RunEvent) => told.push({ what: 'event', id: request.id, type: e.type, ...('stepId' in e ? { step: e.stepId } : {}) }),
        vmFinished: () => undefined,
        halt: () => told.push({ what: 'halt', id: request.id }),
        finish: () => told.push({ what: 'finish', id: request.id }),
      };
    },
    async finished(request: RequestRecord, runs: RunRecord[]) {
      told.push({ what: 'finished', id: request.id, state: request.state, runs: runs.map((r) => r.state) });
    },
    async extended() {},
    async cleanupFailed(request: RequestRecord) {
      told.push({ what: 'cleanupFailed', id: request.id });
    },
    async cleanedUp({ request, ...outcome }: CleanupOutcome) {
      told.push({ what: 'cleanedUp', id: request.id, outcome });
    },
  };
}

describe('the request lifecycle, through the core workflows', () => {
  let sim: VergeosSim;
  let dir: string;
  let parts: { close: () => Promise<void>; remove: () => Promise<void> };
  let core: Core;
  let seen: ReturnType<typeof recorder>;

  async function open(): Promise<Core> {
    const env = loadConfig({ VERGEOS_URL: sim.url, DATA_DIR: dir, VM_APPROVERS: `${LEAD},${OTHER_LEAD}` }, []);
    const store = await LowdbStore.open(dir);
    const audit = await FileAuditLog.open(dir);
    const composed = compose(
      { env, logger: createLogger({ level: 'silent' }), store, audit, vergeos: client },
      { provisioner: { importPoll: { intervalMs: 10, timeoutMs: 5_000 }, pollMs: 10, stopTimeoutMs: 200 } },
    );
    seen = recorder();
    composed.execution.observe(seen);
    return composed;
  }
  async function shut(): Promise<void> {
    await core.execution.idle();
    await core.provisioner.stop();
    await core.audit.close();
    await core.store.close();
  }
  let client: Awaited<ReturnType<typeof simAndClient>>['client'];

  beforeEach(async () => {
    const started = await simAndClient({ timing: { importMs: 20, startMs: 0, stopMs: 0 } });
    sim = started.sim;
    client = started.client;
    const temp = await tempDir();
    dir = temp.dir;
    parts = { close: started.close, remove: temp.remove };
    core = await open();
  });
  afterEach(async () => {
    await shut();
    await parts.close();
    await parts.remove();
  });

  async function filed(name: string, viewId = `view-${name}`): Promise<RequestRecord> {
    const outcome = await core.filing.file({ requester: REQUESTER, unlimited: false, specs: [await recipeSpec('web-server', name)], sourceViewId: viewId });
    if (outcome.kind !== 'filed') throw new Error(`not filed: ${JSON.stringify(outcome.errors)}`);
    return outcome.request;
  }

  it('refuses a batch whose NIC has a static address (each VM would get it), under that field, and files nothing', async () => {
    const withAddress = async (name: string) => {
      const spec = await recipeSpec('web-server', name);
      return { ...spec, nics: spec.nics.map((n, i) => (i === 0 ? { ...n, ipaddress: '10.3.0.20' } : n)) };
    };
    const outcome = await core.filing.file({
      requester: REQUESTER,
      unlimited: false,
      specs: [await withAddress('wf-ip-1'), await withAddress('wf-ip-2')],
      batch: { count: 2, pattern: 'wf-ip-{n}' },
      sourceViewId: 'view-wf-ip',
    });
    expect(outcome).toEqual({
      kind: 'refused',
      errors: [
        {
          path: 'nics[0].ipaddress',
          message: '10.3.0.20 would be given to each of the 2 VMs; leave the address empty for a batch (VergeOS gives each its own)',
        },
      ],
    });
    expect(core.store.listRequests()).toEqual([]);
    // One VM may have it.
    const one = await core.filing.file({ requester: REQUESTER, unlimited: false, specs: [await withAddress('wf-ip-1')], sourceViewId: 'view-wf-ip-1' });
    expect(one).toMatchObject({ kind: 'filed', request: { spec: { nics: [{ ipaddress: '10.3.0.20' }] } } });
  });

  it('files once per submission, refuses self-approval, approves once under a double click, executes, and records the outcome', async () => {
    const request = await filed('wf-01');
    expect(request).toMatchObject({ id: 'REQ-1', state: 'pending', requester: REQUESTER, policy: { rule: 'default', decision: 'approve', count: 1 } });
    // The same submission delivered again is the same request.
    const again = await core.filing.file({
      requester: REQUESTER,
      unlimited: false,
      specs: [await recipeSpec('web-server', 'wf-01')],
      sourceViewId: 'view-wf-01',
    });
    expect(again).toMatchObject({ kind: 'filed', created: false, request: { id: 'REQ-1' } });

    await expect(core.requests.approve(request.id, REQUESTER)).rejects.toMatchObject({ code: 'REQUEST_SELF_APPROVAL' });
    const clicks = await Promise.allSettled([core.requests.approve(request.id, LEAD), core.requests.approve(request.id, OTHER_LEAD)]);
    const approved = clicks.filter((c) => c.status === 'fulfilled');
    expect(approved).toHaveLength(1);
    const refused = clicks.find((c) => c.status === 'rejected')!.reason as RequestError;
    expect(refused).toBeInstanceOf(RequestError);
    expect(refused.code).toBe('REQUEST_ALREADY_DECIDED');
    // The core names people by id; the Slack edge turns ids into mentions.
    expect(refused.message).toMatch(/^REQ-1 was already approved by ULEAD[12]; nothing was changed\.$/);

    const { request: decided, complete } = (approved[0] as PromiseFulfilledResult<{ request: RequestRecord; complete: boolean }>).value;
    expect(complete).toBe(true);
    await core.execution.startApproved(decided, decided.decidedBy!);
    await core.execution.idle();

    const done = core.requests.get(request.id);
    expect(done.state).toBe('succeeded');
    const [run] = core.provisioner.runsForRequest(request.id);
    expect(run).toMatchObject({ state: 'succeeded', actor: REQUESTER, requestId: 'REQ-1', poweredOn: true });
    expect([...sim.state.table('vms').values()].filter((v) => v.name === 'wf-01')).toHaveLength(1);
    // Told in order: started, each step, finished once.
    expect(seen.told[0]).toEqual({ what: 'started', id: 'REQ-1', reason: { kind: 'approved' } });
    expect(seen.told.filter((t) => t.what === 'event' && t.type === 'step_done').map((t) => (t as { step?: string }).step)).toEqual([
      'create_vm',
      'drive:0',
      'nic:0',
      'power_on',
    ]);
    expect(seen.told.slice(-2)).toEqual([
      { what: 'finish', id: 'REQ-1' },
      { what: 'finished', id: 'REQ-1', state: 'succeeded', runs: ['succeeded'] },
    ]);
  });

  it('a failed run is retried from its failed step; a failed request is cleaned up once and closed', async () => {
    sim.faults.add({ route: 'POST /machine_nics', nth: 1, status: 422, body: { err: 'Injected refusal' } });
    const first = await filed('wf-retry');
    await core.execution.startApproved((await core.requests.approve(first.id, LEAD)).request, LEAD);
    await core.execution.idle();
    expect(core.requests.get(first.id).state).toBe('failed');
    expect(seen.told.at(-1)).toEqual({ what: 'finished', id: first.id, state: 'failed', runs: ['failed'] });

    sim.faults.clear();
    expect(await core.execution.retry(core.requests.get(first.id), LEAD)).toBe(1);
    // A second click on Retry is refused by the request's compare-and-set.
    await expect(core.execution.retry(core.requests.get(first.id), OTHER_LEAD)).rejects.toMatchObject({ code: 'REQUEST_WRONG_STATE' });
    await core.execution.idle();
    expect(core.requests.get(first.id).state).toBe('succeeded');
    expect(seen.told.find((t) => t.what === 'started' && t.reason.kind === 'retry')).toEqual({
      what: 'started',
      id: first.id,
      reason: { kind: 'retry', lead: LEAD, runs: 1 },
    });
    // Only the refused NIC was sent again: one VM, one NIC.
    expect([...sim.state.table('vms').values()].filter((v) => v.name === 'wf-retry')).toHaveLength(1);
    expect([...sim.state.table('machine_nics').values()]).toHaveLength(1);

    sim.faults.add({ route: 'POST /machine_nics', nth: 1, status: 422, body: { err: 'Injected refusal' } });
    const second = await filed('wf-clean');
    await core.execution.startApproved((await core.requests.approve(second.id, LEAD)).request, LEAD);
    await core.execution.idle();
    sim.faults.clear();
    const vmKey = core.provisioner.runsForRequest(second.id)[0]!.keys.vmKey!;
    const cleaned = await core.execution.cleanup(core.requests.get(second.id), LEAD);
    expect(cleaned).toMatchObject({ request: { id: second.id, state: 'cleaned_up' }, partial: 1, deleted: [{ name: 'wf-clean', vmKey }] });
    expect(seen.told.at(-1)).toEqual({ what: 'cleanedUp', id: second.id, outcome: { partial: 1, deleted: [{ name: 'wf-clean', vmKey }] } });
    expect([...sim.state.table('vms').values()].filter((v) => v.name === 'wf-clean')).toHaveLength(0);
    await expect(core.execution.cleanup(core.requests.get(second.id), OTHER_LEAD)).rejects.toMatchObject({ code: 'REQUEST_WRONG_STATE' });
  });

  it('after a restart: an approval not yet started is started, and a finished run not yet recorded is recorded once', async () => {
    const waiting = await filed('wf-approved');
    await core.requests.approve(waiting.id, LEAD); // approved, then the process stopped before starting it
    const ran = await filed('wf-ran');
    const decided = (await core.requests.approve(ran.id, LEAD)).request;
    // The runs finished, but the process stopped before recording the outcome on the request.
    const run = await core.provisioner.createRun(decided.spec, { actor: REQUESTER, requestId: ran.id });
    await core.requests.startProvisioning(ran.id, run.id, LEAD, 'approved');
    await core.provisioner.execute(run.id);
    expect(core.requests.get(ran.id).state).toBe('provisioning');
    await shut();

    core = await open();
    await core.recovery.recover();
    await core.execution.idle();
    expect(core.requests.get(waiting.id).state).toBe('succeeded');
    expect(core.requests.get(ran.id).state).toBe('succeeded');
    expect(
      seen.told
        .filter((t) => t.what === 'finished')
        .map((t) => t.id)
        .sort(),
    ).toEqual([ran.id, waiting.id].sort());
    expect(seen.told.filter((t) => t.what === 'started').map((t) => t.id)).toEqual([waiting.id]);
    expect(
      [...sim.state.table('vms').values()]
        .map((v) => String(v.name))
        .filter((n) => n.startsWith('wf-'))
        .sort(),
    ).toEqual(['wf-approved', 'wf-ran']);
  });

  it('the sweeps expire a pending request past its time and tell it once', async () => {
    const request = await filed('wf-expire');
    await core.store.updateRequest(request.id, { version: request.version }, (r) => {
      r.expiresAt = new Date(Date.now() - 1_000).toISOString();
    });
    const expired: string[] = [];
    core.sweeps.observe({
      decided: async () => undefined,
      expired: async (r) => void expired.push(`${r.id}:${r.state}`),
      leaseNotice: async () => undefined,
      vmGone: async () => undefined,
      vmReachable: async () => undefined,
    });
    await core.sweeps.requests();
    await core.sweeps.requests();
    expect(expired).toEqual([`${request.id}:expired`]);
    await expect(core.requests.approve(request.id, LEAD)).rejects.toMatchObject({
      code: 'REQUEST_ALREADY_DECIDED',
      message: `${request.id} expired before anyone decided; nothing was changed.`,
    });
  });

  it('day-2 actions: only the owner or a lead acts; power once; delete once', async () => {
    const request = await filed('wf-day2');
    await core.execution.startApproved((await core.requests.approve(request.id, LEAD)).request, LEAD);
    await core.execution.idle();
    const runId = core.provisioner.runsForRequest(request.id)[0]!.id;
    const isLead = async (user: string) => user === LEAD;
    expect(await core.vms.access(runId, 'UBYSTANDER', isLead)).toMatchObject({ kind: 'not_yours', owner: REQUESTER });
    expect(await core.vms.access('run-nope', REQUESTER, isLead)).toEqual({ kind: 'gone' });
    const mine = await core.vms.access(runId, REQUESTER, isLead);
    if (mine.kind !== 'ok') throw new Error(`expected access, got ${mine.kind}`);
    expect((await core.vms.access(runId, LEAD, isLead)).kind).toBe('ok');
    expect(await core.vms.power(mine.vm, 'off', REQUESTER)).toBe('done');
    expect(await core.vms.power(mine.vm, 'off', REQUESTER)).toBe('already');
    expect(core.vms.find('wf-day2').runId).toBe(runId);
    expect(() => core.vms.find('nope')).toThrow(expect.objectContaining({ code: 'VM_NOT_FOUND', exitCode: 2 }));
    const gone = await core.vms.decommission(mine.vm, LEAD);
    expect(gone.state).toBe('decommissioned');
    expect([...sim.state.table('vms').values()].filter((v) => v.name === 'wf-day2')).toHaveLength(0);
    expect(await core.vms.access(runId, REQUESTER, isLead)).toEqual({ kind: 'gone' });
  });
});
