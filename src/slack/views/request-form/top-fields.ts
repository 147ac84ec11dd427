/** The request form's top part, in the order it shows: one entry per field (registry.ts). */
import { VIDEO_TYPES } from '../../../vergeos/enums.js';
import { formatBytes } from '../../../vmspec/units.js';
import { clip } from '../../escape.js';
import { hasSecretPlaceholder, USER_DATA_INPUT_MAX, userDataForForm, userDataFromForm, userDataOf } from '../user-data.js';
import { checkboxes, externalSelect, input, numberInput, option, staticSelect, text, textInput } from './elements.js';
import { ACTIONS, keepForChoices, type ModalDraft } from './model.js';
import type { FormField, RecipeSpec } from './registry.js';

const FLAGS = [
  ['uefi', 'UEFI boot'],
  ['secure_boot', 'Secure boot (needs UEFI)'],
  ['guest_agent', 'QEMU guest agent'],
] as const;
const POWER_ON = [['power_on', 'Power the VM on']] as const;

const asNumber = (raw: string | undefined): number | undefined => (raw === undefined ? undefined : Number(raw));

/** The cloud-init files the spec gets: the user-data (the form's, secrets put back) and the recipe's others. */
function cloudInitFiles(draft: ModalDraft, base: RecipeSpec | undefined): Array<{ name: string; contents: string }> {
  const otherFiles = (base?.vm.cloudinit_files ?? []).filter((f) => f.name.replace(/^\//, '') !== 'user-data');
  const recipeUserData = base ? userDataOf(base.vm) : undefined;
  const userData = draft.userDataKept ? recipeUserData : userDataFromForm(draft.userData, recipeUserData);
  return [...(userData ? [{ name: 'user-data', contents: userData }] : []), ...otherFiles];
}

const quota: FormField = {
  id: 'quota',
  shown: (meta) => Boolean(meta.q),
  render: (block_id, { meta }) => ({ type: 'context', block_id, elements: [{ type: 'mrkdwn', text: clip(meta.q ?? '', 2000) }] }),
};

const recipe: FormField = {
  id: 'recipe',
  render(block_id, { recipes, recipe: chosen }) {
    const recipeOptions = recipes.slice(0, 100).map((r) => option(r.id, `${r.title}`));
    return input(
      block_id,
      'Recipe',
      {
        type: 'static_select',
        action_id: ACTIONS.recipePick,
        placeholder: text('Start from a recipe (optional)'),
        options: recipeOptions.length ? recipeOptions : [option('none', 'No recipes available')],
        ...(chosen ? { initial_option: option(chosen.id, chosen.title) } : {}),
      },
      { optional: true, dispatch: true, ...(chosen?.description ? { hint: clip(chosen.description, 150) } : {}) },
    );
  },
  read: (v, draft, meta) => ({ ...draft, recipe: v.text ?? meta.r }),
  fromRecipe: ({ recipe: r }, draft) => ({ ...draft, recipe: r.id }),
};

const name: FormField = {
  id: 'name',
  render: (block_id, { draft }) =>
    input(block_id, 'VM name', textInput(draft.name, 'e.g. web-01, or web-{n} for several', { max_length: 128 }), {
      hint: 'Letters, digits, spaces, dots, dashes and underscores. For several VMs, {n} becomes 1, 2, 3…',
    }),
  read: (v, draft) => ({ ...draft, name: v.text }),
  spec: { 'vm.name': (draft) => draft.name ?? '' },
  fromRecipe: ({ recipe: r, name: asked }, draft) => ({ ...draft, name: asked ?? r.draft.vm.name }),
};

const count: FormField = {
  id: 'count',
  render: (block_id, { draft, batchMax }) =>
    input(block_id, 'How many VMs', numberInput('1', String(batchMax), draft.count && draft.count > 1 ? draft.count : undefined), {
      optional: true,
      hint: `1 to ${batchMax}; more than one is a batch, checked and approved as a whole.`,
    }),
  read: (v, draft) => ({ ...draft, count: asNumber(v.text) }),
  // The submit handler checks the count against VM_BATCH_MAX.
  errors: ['count'],
};

const description: FormField = {
  id: 'description',
  render: (block_id, { draft }) => input(block_id, 'Description', textInput(draft.description, 'What is it for?', { max_length: 2048 }), { optional: true }),
  read: (v, draft) => ({ ...draft, description: v.text }),
  spec: { 'vm.description': (draft) => draft.description },
  fromRecipe: ({ recipe: r }, draft) => ({ ...draft, description: r.draft.vm.description ?? r.description }),
};

const cluster: FormField = {
  id: 'cluster',
  render: (block_id, { draft }) =>
    input(block_id, 'Cluster', externalSelect('cluster', draft.cluster, 'Choose a cluster'), {
      optional: true,
      hint: "Leave empty for VergeOS's default cluster.",
    }),
  read: (v, draft) => ({ ...draft, cluster: v.choice }),
  spec: { 'vm.cluster': (draft) => draft.cluster?.value },
  fromRecipe: ({ recipe: r, label }, draft) => ({ ...draft, cluster: label('cluster', r.draft.vm.cluster) }),
};

const cpuCores: FormField = {
  id: 'cpu_cores',
  render: (block_id, { draft }) => input(block_id, 'CPU cores', numberInput('1', '1024', draft.cpuCores ? draft.cpuCores : undefined)),
  read: (v, draft) => ({ ...draft, cpuCores: asNumber(v.text) }),
  spec: { 'vm.cpu_cores': (draft, base) => draft.cpuCores ?? base?.vm.cpu_cores },
  fromRecipe: ({ recipe: r }, draft) => ({ ...draft, cpuCores: r.draft.vm.cpu_cores }),
};

const ram: FormField = {
  id: 'ram',
  render: (block_id, { draft }) => input(block_id, 'RAM', textInput(draft.ram, 'e.g. 8GiB or 8192 (MB)')),
  read: (v, draft) => ({ ...draft, ram: v.text }),
  spec: { 'vm.ram': (draft, base) => draft.ram ?? base?.vm.ram },
  fromRecipe: ({ recipe: r }, draft) => ({ ...draft, ram: formatBytes(r.draft.vm.ram * 1024 * 1024).replace(' ', '') }),
};

const flags: FormField = {
  id: 'flags',
  render: (block_id, { draft }) => {
    const on: Record<string, boolean | undefined> = { uefi: draft.uefi, secure_boot: draft.secureBoot, guest_agent: draft.guestAgent };
    return input(
      block_id,
      'Firmware and agent',
      checkboxes(FLAGS, (value) => on[value] === true),
      { optional: true },
    );
  },
  read: (v, draft) => ({ ...draft, uefi: v.checked.has('uefi'), secureBoot: v.checked.has('secure_boot'), guestAgent: v.checked.has('guest_agent') }),
  spec: { 'vm.uefi': (draft) => draft.uefi, 'vm.secure_boot': (draft) => draft.secureBoot, 'vm.guest_agent': (draft) => draft.guestAgent },
  fromRecipe: ({ recipe: r }, draft) => ({ ...draft, uefi: r.draft.vm.uefi, secureBoot: r.draft.vm.secure_boot, guestAgent: r.draft.vm.guest_agent }),
};

const video: FormField = {
  id: 'video',
  render: (block_id, { draft }) => input(block_id, 'Video adapter', staticSelect('value', VIDEO_TYPES, draft.video, 'Default (std)'), { optional: true }),
  read: (v, draft) => ({ ...draft, video: v.text }),
  spec: { 'vm.video': (draft, base) => draft.video ?? base?.vm.video },
  fromRecipe: ({ recipe: r }, draft) => ({ ...draft, video: r.draft.vm.video }),
};

/** The user-data input; or, for a recipe's user-data too long for one, a line saying it is used as it is. */
const userData: FormField = {
  id: 'user_data',
  render(block_id, { draft, recipe: chosen }) {
    if (draft.userDataKept) {
      const length = (chosen && userDataOf(chosen.draft.vm)?.length) ?? 0;
      const says = `*Cloud-init user-data:* the recipe's (${length} characters) is used as it is; it is too long to edit in Slack.`;
      return { type: 'context', block_id, elements: [{ type: 'mrkdwn', text: says }] };
    }
    const placeholders = draft.userData !== undefined && hasSecretPlaceholder(draft.userData);
    return input(block_id, 'Cloud-init user-data', textInput(draft.userData, '#cloud-config …', { multiline: true, max_length: USER_DATA_INPUT_MAX }), {
      optional: true,
      hint: placeholders
        ? "Sent as the user-data file (nocloud datasource). Each «secret N from the recipe» stands for the recipe's value and is put back when you submit."
        : 'Sent as the user-data file (nocloud datasource).',
    });
  },
  read: (v, draft, meta) => ({ ...draft, userData: meta.u ? undefined : v.text, ...(meta.u ? { userDataKept: true } : {}) }),
  spec: {
    'vm.cloudinit_files': (draft, base) => {
      const files = cloudInitFiles(draft, base);
      return files.length ? files : undefined;
    },
    'vm.cloudinit_datasource': (draft, base) =>
      cloudInitFiles(draft, base).length ? (base?.vm.cloudinit_datasource ?? 'nocloud') : base?.vm.cloudinit_datasource === 'none' ? 'none' : undefined,
  },
  // Secrets never go to Slack: the form shows placeholders, and too long a text is not shown at all.
  fromRecipe: ({ recipe: r }, draft) => {
    const recipeUserData = userDataOf(r.draft.vm);
    const shown = recipeUserData === undefined ? undefined : userDataForForm(recipeUserData).text;
    const fits = shown === undefined || shown.length <= USER_DATA_INPUT_MAX;
    return { ...draft, userData: fits ? shown : undefined, ...(fits ? {} : { userDataKept: true }) };
  },
};

const keepFor: FormField = {
  id: 'keep_for',
  render(block_id, { draft, recipe: chosen }) {
    const { choices, initial } = keepForChoices(chosen);
    const picked = choices.find((c) => c.value === (draft.keepFor ?? initial)) ?? choices.find((c) => c.value === initial)!;
    return input(
      block_id,
      'Keep for',
      { type: 'static_select', action_id: 'value', options: choices.map((c) => option(c.value, c.label)), initial_option: option(picked.value, picked.label) },
      {
        hint: chosen?.lease?.maxMs
          ? 'Then powered off, and deleted after a grace period unless extended.'
          : 'With a time limit, the VM is powered off then, and deleted after a grace period unless extended.',
      },
    );
  },
  read: (v, draft) => ({ ...draft, keepFor: v.text }),
  // The submit handler checks the choice against the recipe's maximum.
  errors: ['keep_for'],
};

const powerOn: FormField = {
  id: 'power_on',
  render: (block_id, { draft }) =>
    input(
      block_id,
      'After creation',
      checkboxes(POWER_ON, () => draft.powerOn === true),
      { optional: true },
    ),
  read: (v, draft) => ({ ...draft, powerOn: v.checked.has('power_on') }),
  spec: { power_on: (draft) => draft.powerOn ?? false },
  fromRecipe: ({ recipe: r }, draft) => ({ ...draft, powerOn: r.draft.power_on }),
};

/** The top part, in order; a spec error no field claims shows under `name` (FALLBACK_FIELD). */
export const TOP_FIELDS: readonly FormField[] = [quota, recipe, name, count, description, cluster, cpuCores, ram, flags, video, userData, keepFor, powerOn];
export const FALLBACK_FIELD = name.id;
