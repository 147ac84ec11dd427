/** Run events as terminal lines: `[web-01] 2/4 ✓ drive "OS Drive" … key 1001`. */
import type { RunEvent, RunEventListener } from '../provision/provisioner.js';
import type { RunRecord } from '../store/records.js';

export function progressPrinter(write: (line: string) => void, nameOf: (runId: string) => string): RunEventListener {
  return (event: RunEvent) => {
    const name = nameOf(event.runId);
    switch (event.type) {
      case 'step_started':
        write(`[${name}] ${event.index + 1}/${event.total} … ${event.description}`);
        break;
      case 'step_done': {
        const keys = event.vmKey
          ? `VM key ${event.vmKey}, machine key ${event.machineKey}`
          : event.key
            ? `key ${event.key}${event.uuid ? `, uuid ${event.uuid}` : ''}`
            : 'done';
        write(`[${name}] ${event.index + 1}/${event.total} ✓ ${event.description} → ${keys}${event.reconciled ? ' (found by lookup)' : ''}`);
        break;
      }
      case 'step_failed':
        write(`[${name}] ${event.index + 1}/${event.total} ✗ ${event.error.message}`);
        break;
      case 'run_succeeded':
        write(`[${name}] done: VM key ${event.result.vmKey}, machine key ${event.result.machineKey}${event.result.poweredOn ? ', powered on' : ''}`);
        break;
      case 'run_paused':
        write(`[${name}] paused: ${event.reason}. Nothing more was sent. Once the store can be written again, continue with: vmbot resume ${event.runId}`);
        break;
      case 'run_failed':
        write(`[${name}] failed; ${event.created}. Resume with: vmbot resume ${event.runId}   Delete the partial VM with: vmbot cleanup ${event.runId}`);
        break;
    }
  };
}

export function namesByRun(runs: RunRecord[]): (runId: string) => string {
  const names = new Map(runs.map((r) => [r.id, r.spec.vm.name]));
  return (id) => names.get(id) ?? id;
}
