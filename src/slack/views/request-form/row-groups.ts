/** The request form's repeatable groups — drives, NICs, devices — one entry per field of a row (registry.ts). */
import { DRIVE_INTERFACES, DRIVE_MEDIA, NIC_INTERFACES, VGPU_DEVICE_TYPE } from '../../../vergeos/enums.js';
import { formatBytes } from '../../../vmspec/units.js';
import { checkboxes, externalSelect, input, numberInput, staticSelect, textInput } from './elements.js';
import { ACTIONS, TPM_CHOICE, VGPU_FLAGS, type DeviceDraft, type DriveDraft, type NicDraft } from './model.js';
import type { RecipeSpec, RowGroup } from './registry.js';

type DriveItem = RecipeSpec['drives'][number];
type NicItem = RecipeSpec['nics'][number];
type DeviceItem = RecipeSpec['devices'][number];

/** The longest IP address text: an IPv6 address with an IPv4 tail. */
const IP_ADDRESS_MAX = 45;

/** The item with its unset keys left out. */
const defined = (item: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(item).filter(([, v]) => v !== undefined));

export const DRIVES: RowGroup<DriveDraft, DriveItem> = {
  list: 'drives',
  metaKey: 'd',
  stem: 'drive',
  divider: true,
  title: '*Drives*',
  rowLabel: (n) => `drive ${n}`,
  add: { action: ACTIONS.addDrive, label: 'Add drive', value: 'drive' },
  removeAction: ACTIONS.removeDrive,
  fallback: 'drive_size',
  rows: (draft) => draft.drives,
  withRows: (draft, rows) => ({ ...draft, drives: rows }),
  fresh: (row) => ({ row, media: 'disk', interface: 'virtio-scsi' }),
  fields: [
    {
      id: 'drive_name',
      render: (id, d, n) => input(id, `Drive ${n}: name`, textInput(d.name, `e.g. OS Drive`, { max_length: 128 }), { optional: true }),
      read: (v, d) => ({ ...d, name: v.text }),
      spec: { name: (d) => d.name },
      fromRecipe: (item, d) => ({ ...d, name: item.name }),
    },
    {
      id: 'drive_media',
      render: (id, d, n) => input(id, `Drive ${n}: media`, staticSelect('value', DRIVE_MEDIA, d.media ?? 'disk', 'disk')),
      read: (v, d) => ({ ...d, media: v.text }),
      spec: { media: (d) => d.media ?? 'disk' },
      fromRecipe: (item, d) => ({ ...d, media: item.media }),
    },
    {
      id: 'drive_size',
      render: (id, d, n) => input(id, `Drive ${n}: size`, textInput(d.size, 'e.g. 100GiB (new disks)'), { optional: true }),
      read: (v, d) => ({ ...d, size: v.text }),
      spec: { disksize: (d) => d.size },
      fromRecipe: (item, d) => ({ ...d, size: item.disksize === undefined ? undefined : formatBytes(item.disksize).replace(' ', '') }),
    },
    {
      id: 'drive_tier',
      render: (id, d, n) => input(id, `Drive ${n}: storage tier`, externalSelect('tier', d.tier, 'Tier (free space shown)'), { optional: true }),
      read: (v, d) => ({ ...d, tier: v.choice }),
      spec: { preferred_tier: (d) => d.tier?.value },
      fromRecipe: (item, d, { label }) => ({ ...d, tier: label('tier', item.preferred_tier) }),
    },
    {
      id: 'drive_interface',
      render: (id, d, n) => input(id, `Drive ${n}: interface`, staticSelect('value', DRIVE_INTERFACES, d.interface ?? 'virtio-scsi', 'virtio-scsi')),
      read: (v, d) => ({ ...d, interface: v.text }),
      spec: { interface: (d) => d.interface },
      fromRecipe: (item, d) => ({ ...d, interface: item.interface }),
    },
    {
      id: 'drive_source',
      render: (id, d, n) =>
        input(id, `Drive ${n}: media source`, externalSelect('media_source', d.source, 'ISO or image (CD-ROM, import, clone)'), { optional: true }),
      read: (v, d) => ({ ...d, source: v.choice }),
      spec: { media_source: (d) => d.source?.value },
      fromRecipe: (item, d, { label }) => ({ ...d, source: label('media_source', item.media_source) }),
    },
  ],
  recipeItems: (base) => base.drives,
  recipeItem: (base, d) => base.drives[d.row],
  // What the form does not show (description, show_pt) stays as the recipe has it.
  toSpec: (values, _d, item) => defined({ ...values, description: item?.description, show_pt: item?.show_pt }),
};

export const NICS: RowGroup<NicDraft, NicItem> = {
  list: 'nics',
  metaKey: 'n',
  stem: 'nic',
  divider: true,
  title: '*Network interfaces*',
  rowLabel: (n) => `NIC ${n}`,
  add: { action: ACTIONS.addNic, label: 'Add NIC', value: 'nic' },
  removeAction: ACTIONS.removeNic,
  fallback: 'nic_vnet',
  rows: (draft) => draft.nics,
  withRows: (draft, rows) => ({ ...draft, nics: rows }),
  fresh: (row) => ({ row, interface: 'virtio' }),
  fields: [
    {
      id: 'nic_vnet',
      render: (id, nic, n) => input(id, `NIC ${n}: network`, externalSelect('vnet', nic.vnet, 'Choose a network')),
      read: (v, nic) => ({ ...nic, vnet: v.choice }),
      spec: { vnet: (nic) => nic.vnet?.value },
      fromRecipe: (item, nic, { label }) => ({ ...nic, vnet: label('vnet', item.vnet) }),
    },
    {
      id: 'nic_interface',
      render: (id, nic, n) => input(id, `NIC ${n}: interface`, staticSelect('value', NIC_INTERFACES, nic.interface ?? 'virtio', 'virtio')),
      read: (v, nic) => ({ ...nic, interface: v.text }),
      spec: { interface: (nic) => nic.interface },
      fromRecipe: (item, nic) => ({ ...nic, interface: item.interface }),
    },
    {
      id: 'nic_ipaddress',
      render: (id, nic, n) =>
        input(id, `NIC ${n}: IP address`, textInput(nic.ipaddress, 'e.g. 10.0.0.5', { max_length: IP_ADDRESS_MAX }), {
          optional: true,
          hint: 'A static address. Empty: the network gives one, shown once VergeOS reports it.',
        }),
      read: (v, nic) => ({ ...nic, ipaddress: v.text?.trim() || undefined }),
      spec: { ipaddress: (nic) => nic.ipaddress },
      fromRecipe: (item, nic) => ({ ...nic, ipaddress: item.ipaddress }),
    },
  ],
  recipeItems: (base) => base.nics,
  // NIC rows follow the recipe's drives in row ids.
  recipeItem: (base, nic) => base.nics[nic.row - base.drives.length],
  // Rows that came from the recipe keep what the form does not show (name, enabled).
  toSpec: (values, _nic, item) => defined({ ...values, name: item?.name, enabled: item?.enabled }),
};

const isVgpuRow = (meta: { x?: number[] | undefined }, row: number) => meta.x?.includes(row) === true;

export const DEVICES: RowGroup<DeviceDraft, DeviceItem> = {
  list: 'devices',
  metaKey: 'v',
  stem: 'device',
  divider: false,
  title: '*Devices: GPU, PCI, USB, TPM*',
  rowLabel: (n) => `device ${n}`,
  add: { action: ACTIONS.addDevice, label: 'Add device', value: 'device' },
  removeAction: ACTIONS.removeDevice,
  fallback: 'device_group',
  rows: (draft) => draft.devices,
  withRows: (draft, rows) => ({ ...draft, devices: rows }),
  fresh: (row) => ({ row }),
  fields: [
    {
      id: 'device_group',
      render: (id, dev, n) =>
        input(id, `Device ${n}`, externalSelect('resource_group', dev.group, 'A passthrough device, a vGPU or a TPM'), { dispatch: true }),
      read: (v, dev) => ({ ...dev, group: v.choice }),
      errors: ['resource_group', 'type', 'count'],
      fromRecipe: (item, dev, { label }) => ({ ...dev, group: item.type === 'tpm' ? TPM_CHOICE : label('resource_group', item.resource_group) }),
    },
    {
      id: 'device_fps',
      shown: isVgpuRow,
      render: (id, dev, n) =>
        input(id, `Device ${n}: frame rate limit (fps)`, numberInput('0', '240', dev.vgpu?.frameRate), {
          optional: true,
          hint: "0 turns the limiter off (compute work); empty keeps VergeOS's default.",
        }),
      read: (v, dev) => ({ ...dev, vgpu: { ...(v.text === undefined ? {} : { frameRate: Number(v.text) }), flags: dev.vgpu?.flags ?? [] } }),
      errors: ['settings_args.frame_rate_limiter'],
      fromRecipe: (item, dev) => {
        const fps = item.type === VGPU_DEVICE_TYPE ? item.settings_args.frame_rate_limiter : undefined;
        return item.type === VGPU_DEVICE_TYPE ? { ...dev, vgpu: { ...(typeof fps === 'number' ? { frameRate: fps } : {}), flags: [] } } : dev;
      },
    },
    {
      id: 'device_vgpu',
      shown: isVgpuRow,
      render: (id, dev, n) =>
        input(
          id,
          `Device ${n}: vGPU options`,
          checkboxes(
            VGPU_FLAGS.map((f) => [f.key, f.label] as const),
            (key) => dev.vgpu?.flags.includes(key) === true,
          ),
          { optional: true },
        ),
      read: (v, dev) => ({ ...dev, vgpu: { ...dev.vgpu, flags: [...v.checked] } }),
      errors: ['settings_args'],
      fromRecipe: (item, dev) =>
        item.type === VGPU_DEVICE_TYPE
          ? { ...dev, vgpu: { ...dev.vgpu, flags: VGPU_FLAGS.filter((f) => item.settings_args[f.key] === true).map((f) => f.key) } }
          : dev,
    },
  ],
  recipeItems: (base) => base.devices,
  // A row from the recipe, or else the recipe's device of the same group.
  recipeItem: (base, dev) => base.devices[dev.row - base.drives.length - base.nics.length] ?? base.devices.find((b) => b.resource_group === dev.group?.value),
  // A row from the recipe keeps what the form does not show (type, count, other settings) while its group is unchanged.
  toSpec(_values, dev, item) {
    if (dev.group?.value === TPM_CHOICE.value) return { type: 'tpm', ...(item?.type === 'tpm' ? { settings_args: item.settings_args } : {}) };
    const same = item !== undefined && item.type !== 'tpm' && item.resource_group === dev.group?.value;
    const settings: Record<string, unknown> = { ...(same ? item.settings_args : {}) };
    if (dev.vgpu) {
      if (dev.vgpu.frameRate !== undefined) settings.frame_rate_limiter = dev.vgpu.frameRate;
      else delete settings.frame_rate_limiter;
      for (const f of VGPU_FLAGS) {
        if (dev.vgpu.flags.includes(f.key)) settings[f.key] = true;
        else delete settings[f.key];
      }
    }
    return {
      resource_group: dev.group?.value,
      settings_args: settings,
      ...(same && item.type ? { type: item.type } : {}),
      ...(same ? { count: item.count } : {}),
    };
  },
};

export type AnyRowGroup = RowGroup<DriveDraft, DriveItem> | RowGroup<NicDraft, NicItem> | RowGroup<DeviceDraft, DeviceItem>;
/** The groups, in the order the form shows them. */
export const ROW_GROUPS = [DRIVES, NICS, DEVICES] as const;
