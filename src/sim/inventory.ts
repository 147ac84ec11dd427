/** A small, realistic VergeOS inventory the simulator starts with. */
import type { Row } from './query.js';

export const GIB = 1024 ** 3;
export const TIB = 1024 ** 4;

export const GPU_RESOURCE_GROUP = '1f67f07e-f653-db95-c475-01b8a2ea0ff1';
export const VGPU_RESOURCE_GROUP = '7d1c2f40-3b9e-4a51-9c0e-5f2a8b6d4e13';
export const DISABLED_RESOURCE_GROUP = 'a3e9b1c7-0d4f-4e2a-8b6c-1f9d7e5a3c20';
export const SRIOV_RESOURCE_GROUP = '5b0e8c2d-6a17-4f93-b2d4-9c3e1a7f0b58';

export interface Inventory {
  clusters: Row[];
  vnets: Row[];
  files: Row[];
  storage_tiers: Row[];
  resource_groups: Row[];
  node_nvidia_vgpu_devices: Row[];
  /** Live RAM (MB) and cores per cluster; `used_*` grows with running VMs (see SimState.refresh). */
  cluster_status: Row[];
  /** `GET /system`: what pyVergeOS checks a connection with. */
  system: Row[];
}

export function defaultInventory(): Inventory {
  return {
    clusters: [
      { $key: 1, name: 'Cluster1', description: 'General-purpose compute', enabled: true, max_ram_per_vm: 1_048_576, max_cores_per_vm: 128 },
      { $key: 2, name: 'GPU-Cluster', description: 'Nodes with NVIDIA A40 cards', enabled: true, max_ram_per_vm: 524_288, max_cores_per_vm: 64 },
      { $key: 3, name: 'Retired', description: 'Decommissioned, no new workloads', enabled: false, max_ram_per_vm: 65_536, max_cores_per_vm: 16 },
    ],
    vnets: [
      { $key: 1, name: 'Core', description: 'Core fabric', type: 'core', enabled: true },
      { $key: 2, name: 'DMZ', description: 'Tenant DMZ', type: 'dmz', enabled: true },
      { $key: 3, name: 'External', description: 'Uplink to the corporate network', type: 'external', enabled: true },
      { $key: 4, name: 'Dev-Internal', description: 'Developer workloads', type: 'internal', enabled: true },
      { $key: 5, name: 'Lab-Old', description: 'Switched off', type: 'internal', enabled: false },
    ],
    files: [
      { $key: 7, name: 'ubuntu-24.04-live-server-amd64.iso', description: 'Ubuntu Server 24.04 installer', filesize: 2_754_981_888, type: 'iso' },
      { $key: 8, name: 'windows-server-2022.iso', description: 'Windows Server 2022 evaluation', filesize: 5_351_129_088, type: 'iso' },
      { $key: 9, name: 'virtio-win-0.1.262.iso', description: 'VirtIO drivers for Windows', filesize: 739_246_080, type: 'iso' },
      { $key: 10, name: 'Win11_24H2_English_x64.iso', description: 'Windows 11 24H2 installer', filesize: 5_819_484_160, type: 'iso' },
      { $key: 123, name: 'ubuntu-22.04-server-cloudimg-amd64.img', description: 'Ubuntu 22.04 LTS cloud image', filesize: 2 * GIB, type: 'qcow2' },
      { $key: 124, name: 'debian-12-genericcloud-amd64.qcow2', description: 'Debian 12 cloud image', filesize: 2 * GIB, type: 'qcow2' },
    ],
    storage_tiers: [
      { $key: 1, tier: 1, description: 'NVMe', capacity: 2 * TIB, used: 512 * GIB, allocated: 512 * GIB },
      { $key: 2, tier: 2, description: 'SSD', capacity: 8 * TIB, used: 3 * TIB, allocated: 3 * TIB },
      { $key: 3, tier: 3, description: 'HDD archive', capacity: 1 * TIB, used: 1 * TIB - 80 * GIB, allocated: 1 * TIB - 80 * GIB },
    ],
    resource_groups: [
      // resource_count: devices in the group (VergeOS: `count(resources) as resource_count`).
      // The primary key is the uuid; `$key` is the number pyVergeOS sends and reads back.
      { $key: 1, uuid: GPU_RESOURCE_GROUP, name: 'NVIDIA A40 (passthrough)', type: 'node_host_gpu_devices', class: 'gpu', enabled: true, resource_count: 4 },
      { $key: 2, uuid: VGPU_RESOURCE_GROUP, name: 'NVIDIA A40-8Q vGPU', type: 'node_nvidia_vgpu_devices', class: 'vgpu', enabled: true, resource_count: 6 },
      { $key: 3, uuid: DISABLED_RESOURCE_GROUP, name: 'USB license dongle', type: 'node_usb_devices', class: 'usb', enabled: false, resource_count: 1 },
      {
        $key: 4,
        uuid: SRIOV_RESOURCE_GROUP,
        name: 'Mellanox ConnectX-6 VFs',
        type: 'node_sriov_nic_devices',
        class: 'network',
        enabled: true,
        resource_count: 16,
      },
    ],
    node_nvidia_vgpu_devices: [
      { $key: 1, node: 2, name: 'NVIDIA A40-8Q', slot: '0000:41:00.0', vendor: 'NVIDIA Corporation', device: 'GA102GL [A40]', max_instances: 6 },
    ],
    // `_base_*`: what other workloads use; running VMs created in the simulator add to it.
    cluster_status: [
      {
        $key: 1,
        cluster: 1,
        status: 'online',
        online_ram: 1_048_576,
        online_cores: 256,
        _base_ram: 262_144,
        _base_cores: 64,
        used_ram: 262_144,
        used_cores: 64,
      },
      { $key: 2, cluster: 2, status: 'online', online_ram: 524_288, online_cores: 128, _base_ram: 131_072, _base_cores: 32, used_ram: 131_072, used_cores: 32 },
    ],
    system: [{ $key: 1, yb_version: '26.1.8', os_version: '26.1.8', cloud_name: 'vergeos-sim' }],
  };
}
