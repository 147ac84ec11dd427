/**
 * A VergeOS recipe's questions and sections as its API sends them (an Ubuntu server with cloud-init
 * questions), parsed through the real edge schemas, so the tests read what the bot will read.
 */
import { recipeQuestionSchema, recipeSectionSchema, type RecipeQuestion, type RecipeSection } from '../../src/vergeos/recipe-types.js';

let nextKey = 100;

/**
 * One `recipe_questions` row (raw API fields), parsed. `list: null` as VergeOS sends a field it was
 * asked for and has no value for (the schema refuses a row with `list` absent: see the report).
 */
export function question(row: Record<string, unknown>): RecipeQuestion {
  return recipeQuestionSchema.parse({ $key: nextKey++, section: 1, section_name: 'Virtual Machine', orderid: 0, list: null, ...row });
}

export const SECTIONS: RecipeSection[] = [
  { $key: 3, recipe: 'vm_recipes/abc', name: 'Cloud-init', description: 'First boot', orderid: 2 },
  { $key: 9, recipe: 'vm_recipes/abc', name: '$database', description: '', orderid: 0 },
  { $key: 1, recipe: 'vm_recipes/abc', name: 'Virtual Machine', description: 'Size and placement', orderid: 1 },
].map((s) => recipeSectionSchema.parse(s));

/** The Ubuntu server recipe's questions, in a shuffled order (VergeOS's `orderid` decides). */
export function ubuntuQuestions(): RecipeQuestion[] {
  return [
    question({
      name: 'YB_HOSTNAME',
      display: 'Hostname',
      type: 'hostname',
      section: 3,
      section_name: 'Cloud-init',
      orderid: 1,
      required: true,
      regex: '^[a-z0-9-]+$',
      min: 2,
      max: '63',
    }),
    question({ name: 'YB_CPU_CORES', display: 'CPU cores', type: 'num', orderid: 1, default: 2, min: 1, max: 16, required: true }),
    question({ name: 'YB_RAM', display: 'RAM', type: 'ram', orderid: 2, default: 4096, min: '1024', max: 65536, required: true }),
    question({ name: 'YB_DRIVE_OS_SIZE', display: 'OS disk size', type: 'disk_size', orderid: 3, default: 0, hint: 'blank keeps the image size' }),
    question({ name: 'YB_DRIVE_1_SIZE', display: 'Data disk size', type: 'disksize', orderid: 4, default: 53687091200, max: 1099511627776 }),
    question({ name: 'YB_CLUSTER', display: 'Cluster', type: 'cluster', orderid: 5, default: 1 }),
    question({ name: 'YB_NIC_ETH0', display: 'Network', type: 'network', orderid: 6, default: '__new_internal__' }),
    question({ name: 'YB_UEFI', display: 'UEFI', type: 'boolean', orderid: 7, default: true }),
    question({ name: 'YB_BOOT_WAIT', display: 'Boot wait', type: 'seconds', orderid: 8, default: 300, min: 30, max: 3600 }),
    question({ name: 'YB_USER', display: 'User', type: 'string', section: 3, section_name: 'Cloud-init', orderid: 2, default: 'ubuntu', min: 1, max: 32 }),
    question({
      name: 'YB_PASSWORD',
      display: 'Password',
      type: 'password',
      section: 3,
      section_name: 'Cloud-init',
      orderid: 3,
      required: true,
      min: 8,
      dont_store: true,
    }),
    question({ name: 'YB_SSH_KEYS', display: 'SSH keys', type: 'text_area', section: 3, section_name: 'Cloud-init', orderid: 4, help: 'One key a line' }),
    question({
      name: 'YB_IP_ADDR_TYPE',
      display: 'Address',
      type: 'list',
      section: 3,
      section_name: 'Cloud-init',
      orderid: 5,
      default: 'dhcp',
      list: '{"dhcp":"DHCP","static":"Static"}',
    }),
    question({
      name: 'YB_OS_VERSION',
      display: 'Ubuntu',
      type: 'list',
      orderid: 9,
      default: '24.04',
      list: { '22.04': 'Ubuntu 22.04', '24.04': 'Ubuntu 24.04' },
    }),
    question({ name: 'YB_TIER', display: 'Storage tier', type: 'row_selection', orderid: 10, table: 'storage_tiers', default: 1 }),
    question({ name: 'OS_DL_URL', display: 'Image URL', type: 'hidden', orderid: 11, default: 'https://cloud-images.example/noble.img' }),
    question({ name: 'YB_DB_ID', display: 'DB', type: 'database_find', section: 9, section_name: '$database', orderid: 0 }),
    question({ name: 'YB_DB_NAME', display: 'DB name', type: 'string', section: 9, section_name: '$database', orderid: 1 }),
    question({ name: 'YB_LEGACY', display: 'Legacy', type: 'string', orderid: 12, enabled: false }),
  ];
}
