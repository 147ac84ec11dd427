/** The provisioner's errors are coded: a caller tells "busy" from a failure with isBusy, not by class or message. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CodedError, EXIT, hasCode, isBusy, isConflict } from '../../src/errors.js';
import { ProvisionFailure } from '../../src/provision/messages.js';
import { RunBusyError } from '../../src/provision/provisioner.js';
import type { RunRecord } from '../../src/store/records.js';
import { provisioningRig, type ProvisioningRig, recipeSpec } from '../helpers/core.js';

describe('error classes', () => {
  it('RunBusyError is a CodedError with RUN_BUSY: busy, not a conflict, exits as failed', () => {
    const err = new RunBusyError('run run-1 is already executing');
    expect(err).toBeInstanceOf(CodedError);
    expect(err).toMatchObject({ code: 'RUN_BUSY', name: 'RunBusy', message: 'run run-1 is already executing', exitCode: EXIT.failed });
    expect(isBusy(err)).toBe(true);
    expect(isConflict(err)).toBe(false);
  });

  it('ProvisionFailure is a CodedError carrying its own code', () => {
    const err = new ProvisionFailure('PROVISION_IMPORT_FAILED', 'importing drive "OS" failed in VergeOS; check the media source');
    expect(err).toBeInstanceOf(CodedError);
    expect(err).toMatchObject({ code: 'PROVISION_IMPORT_FAILED', name: 'ProvisionFailure', exitCode: EXIT.failed });
    expect(hasCode(err, 'PROVISION_IMPORT_FAILED')).toBe(true);
    expect(isBusy(err)).toBe(false);
  });
});

describe('a run asked to do two things at once', () => {
  let rig: ProvisioningRig;
  let vm: RunRecord;

  beforeEach(async () => {
    rig = await provisioningRig();
    vm = await rig.provisioner.execute((await rig.provisioner.createRun(await recipeSpec('web-server', 'busy-01'), { actor: 'U0ALICE' })).id);
    expect(vm.state).toBe('succeeded');
  });
  afterEach(() => rig.close());

  it('a second power action while the first runs is refused as busy; the first completes', async () => {
    const first = rig.provisioner.power(vm.id, 'off', 'U0ALICE');
    const second = await rig.provisioner.power(vm.id, 'on', 'U0BOB').catch((err: unknown) => err);
    expect(isBusy(second)).toBe(true);
    expect((second as Error).message).toBe(`VM of run ${vm.id} is busy; wait for it`);
    expect(await first).toBe('done');
    expect((await rig.client.machineStatus(vm.keys.machineKey!))?.status).toBe('stopped');
  });

  it('executing a run that is executing is refused as busy', async () => {
    const run = await rig.provisioner.createRun(await recipeSpec('web-server', 'busy-02'), { actor: 'U0ALICE' });
    const first = rig.provisioner.execute(run.id);
    const second = await rig.provisioner.execute(run.id).catch((err: unknown) => err);
    expect(second).toBeInstanceOf(RunBusyError);
    expect((second as Error).message).toBe(`run ${run.id} is already executing`);
    expect((await first).state).toBe('succeeded');
  });

  it('powering a run that made no VM says so, coded RUN_BUSY', async () => {
    const pending = await rig.provisioner.createRun(await recipeSpec('web-server', 'busy-03'), { actor: 'U0ALICE' });
    const err = await rig.provisioner.power(pending.id, 'on', 'U0ALICE').catch((e: unknown) => e);
    expect(hasCode(err, 'RUN_BUSY')).toBe(true);
    expect((err as Error).message).toBe(`run ${pending.id} has no VM to power on (it is pending)`);
    expect(rig.provisioner.isExecuting(pending.id)).toBe(false); // the claim was given back
  });

  it('an unknown run is RUN_NOT_FOUND, naming it', async () => {
    const err = await rig.provisioner.transfer('run-nope', 'U0BOB', 'U0ALICE').catch((e: unknown) => e);
    expect(hasCode(err, 'RUN_NOT_FOUND')).toBe(true);
    expect((err as Error).message).toBe('no run run-nope');
  });
});
