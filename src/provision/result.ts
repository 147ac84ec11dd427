/** A run's outcome in the shape `vmbot apply --json` prints (and Slack summaries use). */
import { planRun } from '../plan/plan.js';
import type { RunRecord } from '../store/records.js';

export interface RunResult {
  runId: string;
  name: string;
  state: RunRecord['state'];
  vmKey: string | null;
  machineKey: string | null;
  drives: Array<{ key: string; name: string }>;
  nics: Array<{ key: string; name: string }>;
  devices: Array<{ key: string; uuid: string | null }>;
  poweredOn: boolean;
  error?: { code: string; message: string };
  /** A clone's source: the VM it copies (its name and VM key). */
  clonedFrom?: { name: string; vmKey: string };
}

export function runResult(run: RunRecord): RunResult {
  const plan = planRun(run);
  const result: RunResult = {
    runId: run.id,
    name: plan.vmName,
    state: run.state,
    vmKey: run.keys.vmKey ?? null,
    machineKey: run.keys.machineKey ?? null,
    drives: [],
    nics: [],
    devices: [],
    poweredOn: run.poweredOn,
    ...(run.clone ? { clonedFrom: { name: run.clone.name, vmKey: run.clone.vmKey } } : {}),
  };
  for (const step of plan.steps) {
    const progress = run.steps[step.id];
    if (progress?.status !== 'done' || !progress.key) continue;
    if (step.kind === 'add_drive') result.drives.push({ key: progress.key, name: step.body.name });
    if (step.kind === 'add_nic') result.nics.push({ key: progress.key, name: step.body.name });
    if (step.kind === 'add_device') result.devices.push({ key: progress.key, uuid: progress.uuid ?? null });
  }
  if (run.error) result.error = { code: run.error.code, message: run.error.message };
  return result;
}
