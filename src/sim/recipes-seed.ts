/**
 * VergeOS's own VM recipes as the simulator starts with them: two catalog repositories, three
 * catalogs (40-hex keys, the same as `id`), an Ubuntu server with cloud-init questions and a
 * Windows server in the local catalog, a Debian recipe in a second catalog and a Rocky recipe not
 * downloaded. Rows are stored as VergeOS sends them — bounds as numbers, numeric strings, null or
 * "", one `list` as a JSON string — so the client's parsing meets what it will meet. `_blueprint`
 * (hidden from every answer) says what a deploy builds.
 */
import { createHash } from 'node:crypto';
import type { Row } from './query.js';

const GIB = 1024 ** 3;

function hexKey(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

export const LOCAL_CATALOG_KEY = hexKey('catalog:local');
export const LAB_CATALOG_KEY = hexKey('catalog:lab');
export const MARKETPLACE_CATALOG_KEY = hexKey('catalog:marketplace');
export const UBUNTU_RECIPE_KEY = hexKey('recipe:ubuntu-server-24.04');
export const WINDOWS_RECIPE_KEY = hexKey('recipe:windows-server-2022');
export const DEBIAN_RECIPE_KEY = hexKey('recipe:debian-12-minimal');
export const ROCKY_RECIPE_KEY = hexKey('recipe:rocky-linux-9');

/** What deploying a recipe builds besides what its answers say. */
export interface RecipeBlueprint {
  osFamily: 'linux' | 'windows';
  uefi: boolean;
  /** The image's own disk, used when the size answer is 0 (bytes). */
  defaultDiskBytes: number;
  /** The cloud-init file(s) it renders: Linux user-data and meta-data, or Windows' unattend.xml. */
  render: 'cloud-init' | 'unattend';
}

/** A question row with VergeOS's defaults for the fields a recipe leaves out. */
function question(fields: Row): Row {
  return {
    display: '',
    hint: '',
    help: '',
    note: '',
    default: null,
    required: false,
    enabled: true,
    readonly: false,
    min: null,
    max: null,
    regex: '',
    list: null,
    table: '',
    fields: '',
    filter: '',
    database_context: '',
    hide_none: false,
    conditions: '',
    on_change: '',
    postprocess_string: '',
    dont_store: false,
    system: false,
    ...fields,
  };
}

interface Seed {
  catalog_repositories: Row[];
  catalogs: Row[];
  vm_recipes: Row[];
  recipe_sections: Row[];
  recipe_questions: Row[];
  vm_recipe_logs: Row[];
}

/** Section and question keys count on from here for every recipe. */
export function recipeSeed(now: number): Seed {
  const created = Math.floor(now / 1000) - 86_400 * 30;
  const seed: Seed = {
    catalog_repositories: [
      { $key: 1, name: 'Local', description: 'Recipes published on this system', type: 'local', enabled: true },
      { $key: 2, name: 'Verge.io Marketplace', description: 'Recipes from Verge.io', type: 'yottabyte', enabled: true },
    ],
    catalogs: [
      catalog(LOCAL_CATALOG_KEY, 1, 'Local Catalog', 'Golden images kept by the platform team', created),
      catalog(LAB_CATALOG_KEY, 1, 'Lab Catalog', 'Images for the lab tenants', created),
      catalog(MARKETPLACE_CATALOG_KEY, 2, 'Marketplace', 'Verge.io marketplace', created),
    ],
    vm_recipes: [],
    recipe_sections: [],
    recipe_questions: [],
    vm_recipe_logs: [],
  };
  let sectionKey = 1;
  let questionKey = 1;
  let order = 0;
  const addRecipe = (recipe: Row, blueprint: RecipeBlueprint, sections: Array<{ name: string; description: string; questions: Row[] }>) => {
    seed.vm_recipes.push({
      update_available: false,
      needs_republish: false,
      vm: null,
      vm_snapshot: null,
      creator: 'admin',
      icon: '',
      ...recipe,
      id: recipe.$key,
      _blueprint: blueprint,
    });
    seed.vm_recipe_logs.push({
      $key: seed.vm_recipe_logs.length + 1,
      vm_recipe: recipe.$key,
      level: 'message',
      text: `Recipe '${String(recipe.name)}' published`,
      timestamp: created * 1_000_000,
      user: 'admin',
    });
    sections.forEach((section, index) => {
      const key = sectionKey++;
      const ref = `vm_recipes/${String(recipe.$key)}`;
      seed.recipe_sections.push({ $key: key, recipe: ref, name: section.name, description: section.description, orderid: index });
      for (const q of section.questions) seed.recipe_questions.push(question({ ...q, $key: questionKey++, recipe: ref, section: key, orderid: order++ }));
    });
  };

  addRecipe(
    {
      $key: UBUNTU_RECIPE_KEY,
      name: 'Ubuntu Server 24.04',
      description: 'Ubuntu 24.04 LTS with cloud-init',
      version: '1.4',
      build: 7,
      catalog: LOCAL_CATALOG_KEY,
      downloaded: true,
    },
    { osFamily: 'linux', uefi: true, defaultDiskBytes: 20 * GIB, render: 'cloud-init' },
    [
      {
        name: 'Virtual Machine',
        description: 'Size of the VM',
        questions: [
          { name: 'YB_CPU_CORES', display: 'CPU Cores', type: 'num', default: 2, required: true, min: 1, max: '64' },
          { name: 'YB_RAM', display: 'RAM', hint: 'MB', type: 'ram', default: 4096, required: true, min: '1024', max: 262_144 },
          { name: 'YB_DRIVE_OS_SIZE', display: 'OS Disk Size', note: '0 keeps the image size', type: 'disksize', default: 20 * GIB, min: 0, max: 0 },
          { name: 'YB_QEMU_AGENT', display: 'Install the QEMU guest agent', type: 'bool', default: true },
        ],
      },
      {
        name: 'Network',
        description: 'How the VM is reached',
        questions: [
          {
            name: 'YB_HOSTNAME',
            display: 'Hostname',
            type: 'hostname',
            required: true,
            min: 1,
            max: 63,
            regex: '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?',
            help: 'Lower-case letters, digits and dashes',
          },
          { name: 'YB_NIC_ETH0', display: 'Network', type: 'network', required: true, default: 4 },
          { name: 'YB_IP_ADDR_TYPE', display: 'Address', type: 'list', default: 'dhcp', list: JSON.stringify({ dhcp: 'DHCP', static: 'Static' }) },
          { name: 'YB_IP_ADDR', display: 'Static address', type: 'string', hint: 'only for a static address', min: '', max: 15 },
        ],
      },
      {
        name: 'Login',
        description: 'The first user',
        questions: [
          { name: 'YB_USER', display: 'User name', type: 'string', default: 'ubuntu', required: true, min: 1, max: 32, regex: '[a-z_][a-z0-9_-]*' },
          { name: 'YB_PASSWORD', display: 'Password', type: 'password', required: true, min: 8, max: 0, dont_store: true },
          { name: 'YB_CLOUDINIT_EXTRA', display: 'Extra cloud-config', type: 'textarea', hint: 'YAML appended to user-data', max: 16_384 },
        ],
      },
      {
        name: '$database',
        description: '',
        questions: [
          { name: 'OS_DL_URL', type: 'hidden', default: 'https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img', system: true },
          { name: 'DB_VM_ROW', type: 'database_create', table: 'vms', database_context: 'vm', system: true },
        ],
      },
    ],
  );

  addRecipe(
    {
      $key: WINDOWS_RECIPE_KEY,
      name: 'Windows Server 2022',
      description: 'Windows Server 2022 Standard, sysprepped',
      version: '2.0',
      build: 3,
      catalog: LOCAL_CATALOG_KEY,
      downloaded: true,
    },
    { osFamily: 'windows', uefi: true, defaultDiskBytes: 80 * GIB, render: 'unattend' },
    [
      {
        name: 'Virtual Machine',
        description: '',
        questions: [
          { name: 'YB_CPU_CORES', display: 'CPU Cores', type: 'number', default: '4', required: true, min: 2, max: 64 },
          { name: 'YB_RAM', display: 'RAM', type: 'ram', default: 8192, required: true, min: 4096, max: '' },
          { name: 'YB_CLUSTER', display: 'Cluster', type: 'cluster', default: 1, required: true },
          { name: 'YB_DRIVE_OS_SIZE', display: 'C: drive', type: 'disk_size', default: 80 * GIB, min: 64 * GIB },
          { name: 'YB_INSTALL_MEDIA', display: 'Driver media', type: 'row', table: 'files', fields: 'name', filter: "type eq 'iso'", hide_none: true },
          { name: 'YB_SHUTDOWN_TIMEOUT', display: 'Shutdown timeout', type: 'seconds', default: 300, min: 30, max: 3600 },
        ],
      },
      {
        name: 'Windows',
        description: 'Machine name and administrator',
        questions: [
          { name: 'YB_HOSTNAME', display: 'Computer name', type: 'hostname', required: true, max: 15, regex: '[A-Za-z0-9-]{1,15}' },
          { name: 'YB_ADMIN_PASSWORD', display: 'Administrator password', type: 'password', required: true, min: '12', dont_store: true },
          { name: 'YB_TIMEZONE', display: 'Time zone', type: 'list', default: 'UTC', list: { UTC: 'UTC', 'Eastern Standard Time': 'US Eastern' } },
          { name: 'YB_NIC_ETH0', display: 'Network', type: 'network', required: true },
        ],
      },
    ],
  );

  addRecipe(
    {
      $key: DEBIAN_RECIPE_KEY,
      name: 'Debian 12 Minimal',
      description: 'Debian bookworm for lab tenants',
      version: '0.9',
      build: 1,
      catalog: LAB_CATALOG_KEY,
      downloaded: true,
    },
    { osFamily: 'linux', uefi: false, defaultDiskBytes: 10 * GIB, render: 'cloud-init' },
    [
      {
        name: 'Basics',
        description: '',
        questions: [
          { name: 'YB_CPU_CORES', display: 'CPU Cores', type: 'num', default: 1, min: 1, max: 8 },
          { name: 'YB_RAM', display: 'RAM', type: 'ram', default: 2048, min: 512, max: 16_384 },
          { name: 'YB_HOSTNAME', display: 'Hostname', type: 'hostname', required: true },
          { name: 'YB_NIC_ETH0', display: 'Network', type: 'network', default: '__new_internal__' },
        ],
      },
    ],
  );

  addRecipe(
    {
      $key: ROCKY_RECIPE_KEY,
      name: 'Rocky Linux 9',
      description: 'Not yet downloaded from the marketplace',
      version: '1.0',
      build: 2,
      catalog: MARKETPLACE_CATALOG_KEY,
      downloaded: false,
    },
    { osFamily: 'linux', uefi: true, defaultDiskBytes: 20 * GIB, render: 'cloud-init' },
    [{ name: 'Basics', description: '', questions: [{ name: 'YB_HOSTNAME', display: 'Hostname', type: 'hostname', required: true }] }],
  );
  return seed;
}

function catalog(key: string, repository: number, name: string, description: string, created: number): Row {
  return { $key: key, id: key, repository, name, description, publishing_scope: 'private', enabled: true, created };
}
