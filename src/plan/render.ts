/**
 * Plans for people (the CLI, and the lead who approves) and for machines (`plan --json`).
 * Secrets are shown as `***`: the console password hash always, and the secrets inside cloud-init
 * files (cloud-init-mask.ts; the files stay valid YAML of the same shape).
 */
import type { VmSpec } from '../vmspec/schema.js';
import type { DeviceType } from '../vergeos/enums.js';
import { formatBytes, formatMegabytes } from '../vmspec/units.js';
import { maskCloudInit, SECRET_MASK } from './cloud-init-mask.js';
import { apiCallFor, type ApiCall, type Plan, type PlanKeys, type PlanStep } from './plan.js';

export { SECRET_MASK };

/** A request body as it may be shown or stored: secrets masked, everything else exact. */
export function redactBody(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  if (typeof out.console_pass_hash === 'string' && out.console_pass_hash !== '') out.console_pass_hash = SECRET_MASK;
  if (Array.isArray(out.cloudinit_files)) {
    out.cloudinit_files = (out.cloudinit_files as Array<{ name: string; contents: string }>).map((f) => ({
      name: f.name,
      contents: maskCloudInit(f.contents).text,
    }));
  }
  return out;
}

/** Device types in words (VergeOS's UI labels). */
export const DEVICE_TYPE_LABELS: Record<DeviceType, string> = {
  node_host_gpu_devices: 'host GPU',
  node_nvidia_vgpu_devices: 'NVIDIA vGPU',
  node_pci_devices: 'PCI device',
  node_usb_devices: 'USB device',
  node_sriov_nic_devices: 'SR-IOV NIC',
  tpm: 'virtual TPM',
};

export function describeStep(step: PlanStep, vmName: string): string {
  switch (step.kind) {
    case 'create_vm': {
      const b = step.body;
      const traits = [
        `${b.cpu_cores ?? 1} vCPU`,
        `${formatMegabytes(b.ram ?? 1024)} RAM`,
        b.cluster ? `cluster ${b.cluster}` : undefined,
        b.uefi === 'true' ? (b.secure_boot === 'true' ? 'UEFI + secure boot' : 'UEFI') : undefined,
        b.guest_agent === 'true' ? 'guest agent' : undefined,
        b.video ? `video ${b.video}` : undefined,
        b.os_family,
        b.cloudinit_files?.length ? `cloud-init ${b.cloudinit_files.map((f) => `${f.name} (${Buffer.byteLength(f.contents)} B)`).join(', ')}` : undefined,
        b.console_pass_hash ? `console password ${SECRET_MASK}` : undefined,
      ].filter(Boolean);
      return `create VM ${vmName}: ${traits.join(', ')}`;
    }
    case 'clone_vm':
      return `clone VM ${step.source} (VM key ${step.body.vm}) as ${step.body.name}: its drives and NICs copied, new MAC addresses`;
    case 'add_drive': {
      const b = step.body;
      const what =
        b.media === 'disk'
          ? `${formatBytes(b.disksize ?? 0)} disk`
          : b.media === 'cdrom'
            ? `CD-ROM from media ${b.media_source}`
            : b.media === 'import' || b.media === 'clone'
              ? `${b.media} of media ${b.media_source}`
              : b.media === 'efidisk'
                ? 'EFI disk (UEFI variables)'
                : String(b.media);
      return `drive "${b.name}": ${what}, ${b.interface ?? 'virtio-scsi'}${b.preferred_tier ? `, tier ${b.preferred_tier}` : ''}`;
    }
    case 'add_nic': {
      const b = step.body;
      const traits = [b.interface ?? 'virtio', b.ipaddress ? `static address ${b.ipaddress}` : undefined, b.enabled === false ? 'disabled' : undefined].filter(
        Boolean,
      );
      return `NIC "${b.name}" on vnet ${b.vnet} (${traits.join(', ')})`;
    }
    case 'add_device': {
      const settings = Object.keys(step.body.settings_args ?? {}).length ? ` with ${JSON.stringify(step.body.settings_args)}` : '';
      if (step.body.type === 'tpm') return `virtual TPM${settings}`;
      return `${step.body.type ? `${DEVICE_TYPE_LABELS[step.body.type]} ` : 'device '}from resource group ${step.body.resource_group}${settings}`;
    }
    case 'wait_imports':
      return 'until imported drives finish importing';
    case 'power_on':
      return 'power on';
  }
}

export function renderPlanText(plan: Plan, keys: PlanKeys = {}): string {
  const calls = plan.steps.map((s) => apiCallFor(s, keys));
  const width = Math.max(...calls.map((c) => `${c.method} ${c.path.split('?')[0]}`.length));
  const lines = [`Plan for VM ${plan.vmName} (${plan.steps.length} steps)`];
  plan.steps.forEach((step, i) => {
    const call = calls[i]!;
    const verb = step.kind === 'wait_imports' ? 'wait' : `${call.method} ${call.path.split('?')[0]}`;
    lines.push(`  ${String(i + 1).padStart(2)}. ${verb.padEnd(width)}  ${describeStep(step, plan.vmName)}`);
  });
  if (plan.steps[0]?.kind === 'clone_vm') {
    if (plan.steps.length > 1) lines.push('Power on uses the VM key of the copy, returned by step 1 (or found by its name).');
  } else if (plan.steps.length > 1) lines.push('Drives, NICs and devices attach to the machine key returned by step 1; power on uses the VM key.');
  return lines.join('\n');
}

export interface PlanJsonStep {
  step: number;
  id: string;
  kind: PlanStep['kind'];
  method: ApiCall['method'];
  path: string;
  body?: Record<string, unknown>;
}

export function planJson(plan: Plan, keys: PlanKeys = {}): { vmName: string; steps: PlanJsonStep[] } {
  return {
    vmName: plan.vmName,
    steps: plan.steps.map((step, i) => {
      const call = apiCallFor(step, keys);
      return { step: i + 1, id: step.id, kind: step.kind, method: call.method, path: call.path, ...(call.body ? { body: redactBody(call.body) } : {}) };
    }),
  };
}

/** Devices taken from resource groups (GPUs, PCI, USB, SR-IOV), each row's count included; a TPM is virtual. */
export function passthroughDevices(spec: VmSpec): number {
  return spec.devices.reduce((sum, d) => sum + (d.type === 'tpm' ? 0 : d.count), 0);
}

/** One line for audit records and summaries: `4 vCPU, 8 GiB RAM, 1 drive (100 GiB), 1 NIC`. */
export function summarizeSpec(spec: VmSpec): string {
  const diskBytes = spec.drives.reduce((sum, d) => sum + (d.media === 'disk' ? (d.disksize ?? 0) : 0), 0);
  const parts = [
    `${spec.vm.cpu_cores} vCPU`,
    `${formatMegabytes(spec.vm.ram)} RAM`,
    `${spec.drives.length} drive${spec.drives.length === 1 ? '' : 's'}${diskBytes ? ` (${formatBytes(diskBytes)} new disk)` : ''}`,
    `${spec.nics.length} NIC${spec.nics.length === 1 ? '' : 's'}`,
  ];
  const passthrough = passthroughDevices(spec);
  if (passthrough) parts.push(`${passthrough} device${passthrough === 1 ? '' : 's'}`);
  if (spec.devices.some((d) => d.type === 'tpm')) parts.push('TPM');
  return parts.join(', ');
}

/** What a set of VMs adds up to: "20 vCPU, 40 GiB RAM, 500 GiB new disk on tier 1, 5 devices". */
export function summarizeTotals(specs: readonly VmSpec[]): string {
  const cores = specs.reduce((sum, s) => sum + s.vm.cpu_cores, 0);
  const ram = specs.reduce((sum, s) => sum + s.vm.ram, 0);
  const byTier = new Map<string, number>();
  let devices = 0;
  for (const spec of specs) {
    for (const d of spec.drives)
      if (d.media === 'disk' && d.disksize) byTier.set(d.preferred_tier ?? '1', (byTier.get(d.preferred_tier ?? '1') ?? 0) + d.disksize);
    devices += passthroughDevices(spec);
  }
  const parts = [`${cores} vCPU`, `${formatMegabytes(ram)} RAM`];
  for (const [tier, bytes] of [...byTier].sort(([a], [b]) => a.localeCompare(b))) parts.push(`${formatBytes(bytes)} new disk on tier ${tier}`);
  if (devices) parts.push(`${devices} GPU/PCI device${devices === 1 ? '' : 's'}`);
  return parts.join(', ');
}
