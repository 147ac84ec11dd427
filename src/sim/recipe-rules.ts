/**
 * VergeOS's recipe deployments in the simulator: `POST /vm_recipe_instances` builds a VM from a
 * recipe's answers (through the same create rules as `POST /vms`, so it powers, snapshots and
 * deletes like any VM) and records the instance; with `"simulate": true` it builds nothing and
 * answers 405 "Simulation complete" with the cloud-init it would write, its logs and the resolved
 * answers (gov's Preview). A refused answer is a log line "Error executing recipe: …", still 405.
 * Passwords are never rendered into cloud-init files nor written to a log; `dont_store` answers are
 * left out of the stored instance, whose `answers` is a JSON string as VergeOS sends it.
 */
import type { Row } from './query.js';
import { NEW_INTERNAL_NETWORK, resolveAnswers, type ResolvedAnswers } from './recipe-answers.js';
import type { RecipeBlueprint } from './recipes-seed.js';
import { SimHttpError } from './schema.js';
import type { SimState } from './state.js';
import { text } from '../text.js';

const MIB = 1024 * 1024;

/** `POST /vm_recipe_instances`: [status, body]. */
export function postRecipeInstance(world: SimState, body: Row): [number, unknown] {
  const resolved = resolveAnswers(world, body);
  const name = String(body.name);
  const taken = nameTaken(world, name);
  if (body.simulate === true || body.simulate === 'true' || body.simulate === 1) return [405, simulate(world, name, resolved, taken)];
  if (taken) throw new SimHttpError(world.behaviour.nameTakenStatus, `The name '${name}' is already in use`);
  if (resolved.problems.length > 0) throw new SimHttpError(422, `Error executing recipe: ${resolved.problems[0]!}`);
  const key = deploy(world, name, resolved, body.auto_update === true || body.auto_update === 'true');
  return [201, { location: `/v4/vm_recipe_instances/${key}`, dbpath: `vm_recipe_instances/${key}`, $row: key, $key: key }];
}

/** `PUT /vm_recipes/{key}?action=download` (pyVergeOS's download): the recipe becomes deployable. */
export function downloadRecipe(world: SimState, key: string): Row {
  const recipe = world.table('vm_recipes').get(key);
  if (!recipe) throw new SimHttpError(404, `VM recipe '${key}' not found`);
  recipe.downloaded = true;
  return {};
}

/** `DELETE /vm_recipe_instances/{key}`: the record goes, its VM stays (pyVergeOS). */
export function deleteRecipeInstance(world: SimState, key: string): void {
  if (!world.table('vm_recipe_instances').delete(key)) throw new SimHttpError(404, `VM recipe instance '${key}' not found`);
}

/** `count(instances)` of a recipe row. */
export function instanceCount(world: SimState, recipe: Row): number {
  let n = 0;
  for (const instance of world.table('vm_recipe_instances').values()) if (instance.recipe === recipe.$key) n++;
  return n;
}

function nameTaken(world: SimState, name: string): boolean {
  for (const vm of world.table('vms').values()) if (vm.name === name && !vm.is_snapshot) return true;
  return false;
}

function simulate(world: SimState, name: string, resolved: ResolvedAnswers, taken: boolean): Row {
  const { recipe, answers } = resolved;
  const logs = [
    `Simulating recipe '${String(recipe.name)}' version ${String(recipe.version)} build ${String(recipe.build)} for '${name}'`,
    ...resolved.warnings,
  ];
  const problems = [...(taken ? [`The name '${name}' is already in use`] : []), ...resolved.problems];
  for (const problem of problems) logs.push(`Error executing recipe: ${problem}`);
  const files = problems.length === 0 ? render(blueprintOf(recipe), name, answers) : [];
  if (problems.length === 0) {
    const plan = planOf(world, recipe, answers);
    logs.push(`Would create VM '${name}' with ${plan.cores} cores and ${plan.ram} MB RAM on cluster ${plan.cluster}`);
    logs.push(`Would create drive 'OS' of ${plan.diskBytes} bytes`);
    logs.push(plan.vnet === NEW_INTERNAL_NETWORK ? 'Would create a new internal network for eth0' : `Would attach eth0 to network ${String(plan.vnet)}`);
    logs.push(`Rendered ${files.length} cloud-init file(s)`);
  }
  logs.push('Simulation complete');
  return { err: 'Simulation complete', response: { cloudinit_files: files, logs, answers } };
}

interface Plan {
  cores: number;
  ram: number;
  cluster: number;
  diskBytes: number;
  vnet: number | string | undefined;
  staticAddress: string | undefined;
}

/** What a deploy builds from the answers; sizes VergeOS would fill in from the image when unanswered. */
function planOf(world: SimState, recipe: Row, answers: Row): Plan {
  const blueprint = blueprintOf(recipe);
  const disk = Number(answers.YB_DRIVE_OS_SIZE ?? 0);
  const firstCluster = [...world.table('clusters').values()].find((c) => c.enabled !== false);
  return {
    cores: Number(answers.YB_CPU_CORES ?? 1),
    ram: Number(answers.YB_RAM ?? 1024),
    cluster: Number(answers.YB_CLUSTER ?? firstCluster?.$key ?? 1),
    // Below 1 MB the platform builds the image's own disk (gov refuses such answers for that reason).
    diskBytes: disk >= MIB ? disk : blueprint.defaultDiskBytes,
    vnet: answers.YB_NIC_ETH0 as number | string | undefined,
    staticAddress: answers.YB_IP_ADDR_TYPE === 'static' ? text(answers.YB_IP_ADDR) : undefined,
  };
}

function deploy(world: SimState, name: string, resolved: ResolvedAnswers, autoUpdate: boolean): number {
  const { recipe, answers } = resolved;
  const blueprint = blueprintOf(recipe);
  const plan = planOf(world, recipe, answers);
  const files = render(blueprint, name, answers);
  const { vmKey, machineKey } = world.createVm({
    name,
    description: `Deployed from recipe '${String(recipe.name)}'`,
    cluster: plan.cluster,
    cpu_cores: plan.cores,
    ram: plan.ram,
    os_family: blueprint.osFamily,
    uefi: blueprint.uefi,
    guest_agent: answers.YB_QEMU_AGENT === true || blueprint.osFamily === 'windows',
    cloudinit_datasource: blueprint.render === 'cloud-init' ? 'nocloud' : 'none',
    cloudinit_files: files,
  });
  try {
    world.addDrive({ machine: machineKey, name: 'OS', media: 'disk', disksize: plan.diskBytes, preferred_tier: '1' });
    if (plan.vnet !== undefined) {
      const vnet = plan.vnet === NEW_INTERNAL_NETWORK ? newInternalNetwork(world, name) : plan.vnet;
      world.addNic({ machine: machineKey, name: 'eth0', vnet, ...(plan.staticAddress ? { ipaddress: plan.staticAddress } : {}) });
    }
  } catch (err) {
    world.deleteVm(vmKey);
    throw err;
  }
  const key = world.nextKey('vm_recipe_instances');
  const micros = world.now() * 1000;
  const stored = Object.fromEntries(Object.entries(answers).filter(([k]) => !resolved.notStored.has(k)));
  world.table('vm_recipe_instances').set(String(key), {
    $key: key,
    recipe: recipe.$key,
    vm: Number(vmKey),
    name,
    version: recipe.version,
    build: recipe.build,
    auto_update: autoUpdate,
    created: micros,
    modified: micros,
    answers: JSON.stringify(stored),
  });
  const logKey = world.nextKey('vm_recipe_logs');
  world.table('vm_recipe_logs').set(String(logKey), {
    $key: logKey,
    vm_recipe: recipe.$key,
    level: 'message',
    text: `Deployed '${name}' (VM ${vmKey})`,
    timestamp: micros,
    user: 'admin',
  });
  return key;
}

function newInternalNetwork(world: SimState, vmName: string): number {
  const vnets = world.table('vnets');
  const key = Math.max(0, ...[...vnets.keys()].map(Number)) + 1;
  vnets.set(String(key), { $key: key, name: `${vmName}-internal`, description: 'Made by a recipe', type: 'internal', enabled: true });
  return key;
}

function blueprintOf(recipe: Row): RecipeBlueprint {
  return recipe._blueprint as RecipeBlueprint;
}

/** The files VergeOS would write: cloud-init's user-data and meta-data, or Windows' unattend.xml. The password is never in them. */
function render(blueprint: RecipeBlueprint, name: string, answers: Row): Array<{ name: string; contents: string }> {
  const hostname = text(answers.YB_HOSTNAME ?? name);
  if (blueprint.render === 'unattend') {
    const xml = [
      '<?xml version="1.0" encoding="utf-8"?>',
      '<unattend xmlns="urn:schemas-microsoft-com:unattend">',
      '  <settings pass="specialize">',
      `    <ComputerName>${hostname}</ComputerName>`,
      `    <TimeZone>${text(answers.YB_TIMEZONE ?? 'UTC')}</TimeZone>`,
      '  </settings>',
      '  <!-- The administrator password is set from the answer at deploy; it is not written here. -->',
      '</unattend>',
    ];
    return [{ name: 'unattend.xml', contents: `${xml.join('\n')}\n` }];
  }
  const user = answers.YB_USER === undefined ? undefined : text(answers.YB_USER);
  const lines = ['#cloud-config', `hostname: ${hostname}`, 'manage_etc_hosts: true'];
  if (user !== undefined) {
    lines.push('users:', `  - name: ${user}`, '    groups: [sudo]', '    shell: /bin/bash', '    lock_passwd: false');
    // VergeOS sets the password from the answer at first boot; the simulation never renders it.
    lines.push('chpasswd:', '  expire: false');
  }
  if (answers.YB_QEMU_AGENT === true) lines.push('packages:', '  - qemu-guest-agent', 'runcmd:', '  - [systemctl, enable, --now, qemu-guest-agent]');
  const extra = answers.YB_CLOUDINIT_EXTRA === undefined ? '' : text(answers.YB_CLOUDINIT_EXTRA).trim();
  if (extra !== '') lines.push('# extra cloud-config from the recipe answers', extra);
  const files = [
    { name: 'user-data', contents: `${lines.join('\n')}\n` },
    { name: 'meta-data', contents: `instance-id: ${name}\nlocal-hostname: ${hostname}\n` },
  ];
  if (answers.YB_IP_ADDR_TYPE === 'static') {
    const address = text(answers.YB_IP_ADDR);
    files.push({
      name: 'network-config',
      contents: `version: 2\nethernets:\n  eth0:\n    addresses: [${address}/24]\n    gateway4: ${address.replace(/\.\d+$/, '.1')}\n`,
    });
  }
  return files;
}
