/** Powering a VM the bot made: on (already running is the outcome wanted), off (ACPI, then kill), and off before a DELETE. */
import type { VergeosApi } from '../vergeos/client.js';
import { isVergeosError } from '../vergeos/errors.js';
import { PollBackoff, realClock, type PollClock } from './poll-backoff.js';

export interface StopTiming {
  /** How long to wait for an ACPI power-off before killing the VM. */
  timeoutMs: number;
  /** The first wait between status polls meanwhile (then longer: see PollBackoff). */
  pollMs: number;
  /** Default: the wall clock. */
  clock?: PollClock | undefined;
}

/** Power on; a VM already running (e.g. a lost answer the first time) is the outcome wanted. */
export async function powerOnVm(api: VergeosApi, vmKey: string): Promise<void> {
  try {
    await api.powerOn(vmKey);
  } catch (err) {
    if (!(isVergeosError(err) && err.code === 'VERGEOS_CONFLICT' && /already running/i.test(err.vergeosMessage ?? ''))) throw err;
  }
}

/** ACPI power-off, then kill once the stop timeout has passed; nothing if it is stopped. */
export async function stopVm(api: VergeosApi, vmKey: string, machineKey: string | undefined, timing: StopTiming): Promise<void> {
  const machine = machineKey ?? (await api.getVm(vmKey).catch(() => undefined))?.machineKey;
  const isStopped = async () => {
    if (!machine) return true;
    const status = await api.machineStatus(machine);
    return !status || status.status === 'stopped';
  };
  if (await isStopped()) return;
  await api.vmAction(vmKey, 'poweroff').catch((err: unknown) => {
    if (!(isVergeosError(err) && err.code === 'VERGEOS_CONFLICT')) throw err;
  });
  const clock = timing.clock ?? realClock;
  const backoff = new PollBackoff(timing.pollMs, clock.now() + timing.timeoutMs, clock);
  let stopped = await isStopped();
  while (!stopped && !backoff.passed) {
    await backoff.wait();
    stopped = await isStopped();
  }
  if (!stopped) await api.vmAction(vmKey, 'kill');
}

/** Stop the VM, then DELETE it (which removes its drives, NICs and devices); already gone counts as deleted. */
export async function stopAndDeleteVm(api: VergeosApi, vmKey: string, machineKey: string | undefined, timing: StopTiming): Promise<void> {
  await stopVm(api, vmKey, machineKey, timing);
  try {
    await api.deleteVm(vmKey);
  } catch (err) {
    if (!(isVergeosError(err) && err.code === 'VERGEOS_NOT_FOUND')) throw err;
  }
}
