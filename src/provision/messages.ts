/** What a failed step means for the operator, in words, with what already exists. */
import { CodedError } from '../errors.js';
import { describeStep } from '../plan/render.js';
import { planRun, type PlanStep } from '../plan/plan.js';
import type { RunError, RunRecord } from '../store/records.js';
import { operatorMessage, type VergeosError } from '../vergeos/errors.js';

/** Failures that are not VergeOS answering with an error. */
export type ProvisionFailureCode =
  | 'PROVISION_IMPORT_TIMEOUT'
  | 'PROVISION_IMPORT_FAILED'
  | 'PROVISION_INTERNAL'
  | 'PROVISION_NOT_AS_APPROVED'
  /** VergeOS said the clone was done but neither answered its keys nor lists a VM of its name yet. */
  | 'PROVISION_CLONE_NOT_FOUND';

/** A run's failure that is the bot's finding (an import that failed, a spec no longer as approved), not VergeOS's answer. */
export class ProvisionFailure extends CodedError {
  override name = 'ProvisionFailure';
  declare readonly code: ProvisionFailureCode;

  /**
   * True when VergeOS may have done the step all the same: the step stays in flight, so it is
   * looked up (never sent again) when the run is resumed.
   */
  readonly outcomeUnknown: boolean;

  constructor(code: ProvisionFailureCode, message: string, options: { outcomeUnknown?: boolean } = {}) {
    super(code, message);
    this.outcomeUnknown = options.outcomeUnknown ?? false;
  }
}

function notFoundWhat(step: PlanStep, err: VergeosError): string {
  if (/machine/i.test(err.vergeosMessage ?? '')) return "the VM's machine no longer exists in VergeOS (was the VM deleted meanwhile?)";
  switch (step.kind) {
    case 'create_vm':
      return `cluster ${step.body.cluster ?? '(default)'} does not exist in VergeOS`;
    case 'clone_vm':
      return `the VM to copy, ${step.source} (VM key ${step.body.vm}), no longer exists in VergeOS`;
    case 'add_drive':
      return `media source ${step.body.media_source ?? '?'} does not exist in VergeOS`;
    case 'add_nic':
      return `network (vnet) ${step.body.vnet} does not exist in VergeOS`;
    case 'add_device':
      return step.body.resource_group === undefined
        ? 'VergeOS could not find something the TPM needs'
        : `resource group ${step.body.resource_group} does not exist in VergeOS`;
    default:
      return 'the VM no longer exists in VergeOS';
  }
}

/** The sentence for one failure, per the design's "Failure messages" table. */
export function failureSentence(step: PlanStep, err: VergeosError | ProvisionFailure, vmName: string): string {
  if (err instanceof ProvisionFailure) return err.message;
  const said = err.vergeosMessage ? ` (VergeOS said: "${err.vergeosMessage}")` : '';
  switch (err.code) {
    case 'VERGEOS_NAME_TAKEN':
      return `the name ${vmName} is taken in VergeOS; pick another (it is checked again at submit time)`;
    case 'VERGEOS_TIER_FULL':
      return `the storage tier${step.kind === 'add_drive' ? ` ${step.body.preferred_tier ?? '1'}` : ''} is full: choose a smaller disk or another tier`;
    case 'VERGEOS_NOT_FOUND':
      return `${notFoundWhat(step, err)}${said}`;
    case 'VERGEOS_VALIDATION':
      return `VergeOS refused a field of this step${said}`;
    case 'VERGEOS_RATE_LIMITED': {
      const wait = err.retryAfterMs === undefined ? 'in a minute' : `in ${Math.max(1, Math.ceil(err.retryAfterMs / 1000))} s or later`;
      return `VergeOS is rate-limiting the bot's key (429); nothing was made twice${step.kind === 'power_on' || step.kind === 'wait_imports' ? '' : ' (each send was looked up first: not created)'}. Retry ${wait}, or ask a VergeOS admin to raise the key's request budget`;
    }
    case 'VERGEOS_UNAVAILABLE':
    case 'VERGEOS_TIMEOUT':
      return `VergeOS did not answer (${err.code === 'VERGEOS_TIMEOUT' ? 'timed out' : 'connection failed'}); what is known to exist was looked up`;
    default:
      return operatorMessage(err);
  }
}

export function stepLabel(step: PlanStep, index: number, vmName: string): string {
  return `Step ${index + 1} (${describeStep(step, vmName)})`;
}

/** "VM web-01 (VM key 42, machine key 52); drive "OS Drive" (key 1001)" — or "nothing". */
export function createdSoFar(run: RunRecord): string {
  const plan = planRun(run);
  if (!run.keys.vmKey) return 'nothing was created in VergeOS';
  const parts = [`VM ${plan.vmName} (VM key ${run.keys.vmKey}, machine key ${run.keys.machineKey})`];
  for (const step of plan.steps) {
    const progress = run.steps[step.id];
    if (progress?.status !== 'done' || !progress.key) continue;
    if (step.kind === 'add_drive') parts.push(`drive "${step.body.name}" (key ${progress.key})`);
    if (step.kind === 'add_nic') parts.push(`NIC "${step.body.name}" (key ${progress.key})`);
    if (step.kind === 'add_device') parts.push(`${step.body.type === 'tpm' ? 'TPM' : `device ${step.body.resource_group}`} (key ${progress.key})`);
  }
  return `created so far: ${parts.join('; ')}`;
}

export function runError(step: PlanStep, index: number, err: VergeosError | ProvisionFailure, vmName: string): RunError {
  return {
    code: err.code,
    message: `${stepLabel(step, index, vmName)} failed: ${failureSentence(step, err, vmName)}.`,
    stepId: step.id,
    ...(err instanceof ProvisionFailure || !err.vergeosMessage ? {} : { vergeosMessage: err.vergeosMessage }),
  };
}
