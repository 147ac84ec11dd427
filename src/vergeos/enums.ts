/** Enumerations VergeOS accepts (from its clients and table schemas); shared by the spec and the simulator. */
export const DRIVE_INTERFACES = [
  'virtio-scsi',
  'virtio',
  'ide',
  'ahci',
  'nvme',
  'lsi53c895a',
  'megasas',
  'megasas-gen2',
  'mptsas1068',
  'virtio-scsi-dedicated',
  'usb',
] as const;
export const DRIVE_MEDIA = ['disk', 'cdrom', 'efidisk', 'import', 'clone', 'nonpersistent'] as const;
/** Media that copy or attach an existing file and so need `media_source`. */
export const MEDIA_WITH_SOURCE = ['cdrom', 'import', 'clone'] as const;
export const NIC_INTERFACES = ['virtio', 'e1000', 'e1000e', 'rtl8139', 'pcnet', 'igb', 'vmxnet3', 'direct'] as const;
export const VIDEO_TYPES = ['std', 'cirrus', 'vmware', 'qxl', 'virtio', 'none'] as const;
export const RTC_BASES = ['utc', 'localtime'] as const;
export const OS_FAMILIES = ['linux', 'windows', 'freebsd', 'other'] as const;
export const CLOUDINIT_DATASOURCES = ['none', 'config_drive_v2', 'nocloud'] as const;
export const VM_ACTIONS = ['poweron', 'poweroff', 'kill', 'reset'] as const;
export const STORAGE_TIERS = ['1', '2', '3', '4', '5'] as const;
export const MAX_CLOUDINIT_FILE_BYTES = 64 * 1024;
/** RAM limits in MB; VergeOS's own clients round up to a multiple of 256. */
export const RAM_MIN_MB = 256;
export const RAM_MAX_MB = 1_048_576;
export const RAM_STEP_MB = 256;
export const CORES_MIN = 1;
export const CORES_MAX = 1024;
/** Device types of `POST /machine_devices` (VergeOS's own clients send one in every body). */
export const RESOURCE_GROUP_TYPES = [
  'node_host_gpu_devices',
  'node_nvidia_vgpu_devices',
  'node_pci_devices',
  'node_usb_devices',
  'node_sriov_nic_devices',
] as const;
export const DEVICE_TYPES = [...RESOURCE_GROUP_TYPES, 'tpm'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];
export const VGPU_DEVICE_TYPE = 'node_nvidia_vgpu_devices';
/** Devices one resource-group row may attach in one request (pyVergeOS's `count`). */
export const DEVICE_COUNT_MAX = 8;
