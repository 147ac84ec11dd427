/** Test recipes whose user-data holds secrets (one of them too long for a Slack input). */
import { stringify } from 'yaml';
import { parseRecipeText, type Recipe } from '../../src/vmspec/recipes.js';

export const SECRET_HASH = '$6$rounds=4096$Rig5alt$RigHashRigHashRigHashRigHashRigHash';

/** A `$6$` hash, a chpasswd list and an `echo 'root:…' | chpasswd` line, among settings that are not secret. */
export const SECRET_USER_DATA = `#cloud-config
# The admin user; its password is a hash, never the password itself.
users:
  - name: admin
    lock_passwd: false
    sudo: ALL=(ALL) NOPASSWD:ALL
    passwd: ${SECRET_HASH}
    ssh_authorized_keys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRigPublicKey admin@example.com
chpasswd:
  expire: false
  list: |
    root:Rig-Root-Pass-1
    ops:Rig-Ops-Pass-2
package_update: true
runcmd:
  - echo 'root:Rig-Echo-Pass-3' | chpasswd
  - systemctl enable --now qemu-guest-agent
`;

export const SECRETS = [SECRET_HASH, 'Rig-Root-Pass-1', 'Rig-Ops-Pass-2', 'Rig-Echo-Pass-3'];

/** The same secrets and more than Slack's 3,000 characters of user-data (a long motd). */
export const LONG_USER_DATA = `${SECRET_USER_DATA}write_files:
  - path: /etc/motd
    content: |
${Array.from({ length: 60 }, (_, i) => `      Line ${String(i + 1).padStart(2, '0')} of the message of the day, long enough to fill the form.`).join('\n')}
`;

/** A recipe like web-server, with this user-data. */
export function recipeWithUserData(id: string, userData: string): Recipe {
  const text = stringify({
    recipe: id,
    title: `Secret cloud-init ${id}`,
    vm: {
      cluster: '1',
      cpu_cores: 2,
      ram: '4GiB',
      guest_agent: true,
      os_family: 'linux',
      cloudinit_datasource: 'nocloud',
      cloudinit_files: [
        { name: '/user-data', contents: userData },
        { name: 'meta-data', contents: `instance-id: ${id}\n` },
      ],
    },
    drives: [{ name: 'OS Drive', media: 'disk', interface: 'virtio-scsi', disksize: '20GiB', preferred_tier: '1' }],
    nics: [{ name: 'uplink', vnet: '3', interface: 'virtio' }],
    devices: [],
    power_on: true,
  });
  const parsed = parseRecipeText(text, `${id}.yml`);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.recipe;
}
