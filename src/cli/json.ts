/** What `runs --json` and `vms --json` share: a VM's size, as numbers and as the text lists show it. */
import { summarizeSpec } from '../plan/render.js';
import type { VmSpec } from '../vmspec/schema.js';

export interface JsonSize {
  cpuCores: number;
  ramMb: number;
  /** New disk the VM was given (disk drives; imports, clones and CD-ROMs not counted). */
  diskBytes: number;
  summary: string;
}

export function sizeOf(spec: VmSpec): JsonSize {
  return {
    cpuCores: spec.vm.cpu_cores,
    ramMb: spec.vm.ram,
    diskBytes: spec.drives.reduce((sum, d) => sum + (d.media === 'disk' ? (d.disksize ?? 0) : 0), 0),
    summary: summarizeSpec(spec),
  };
}
