/**
 * The request modal: a pure function from a draft to a Block Kit view, and back from the view's
 * state to a draft and a spec input. Rows (drives, NICs, devices) carry stable ids in
 * `private_metadata` (never the draft itself), so adding or removing one keeps what was typed.
 * Everything here is derived from the field registry (request-form/): the blocks, the parsing,
 * where a spec error shows, and the block budget.
 */
import type { types } from '@slack/bolt';
import type { Recipe } from '../../vmspec/recipes.js';
import type { FormGate } from './form-gate.js';
import { button, text } from './request-form/elements.js';
import {
  blockId,
  MAX_MODAL_BLOCKS,
  REQUEST_MODAL_CALLBACK,
  TPM_CHOICE,
  type LayoutMeta,
  type ModalDraft,
  type ModalMeta,
  type OptionSource,
} from './request-form/model.js';
import type { FieldValue, FormContext, RecipeSource, RecipeSpec, RowField, RowGroup } from './request-form/registry.js';
import { DEVICES, DRIVES, NICS } from './request-form/row-groups.js';
import { FALLBACK_FIELD, TOP_FIELDS } from './request-form/top-fields.js';

export * from './request-form/model.js';

/** Calls `f` with each repeatable group, in the order the form shows them. */
function eachGroup<T>(f: <Row extends { row: number }, Item>(group: RowGroup<Row, Item>) => T): T[] {
  return [f(DRIVES), f(NICS), f(DEVICES)];
}

const isShown = (field: { shown?(meta: LayoutMeta): boolean }, meta: LayoutMeta) => field.shown?.(meta) ?? true;
const isShownIn = <Row, Item>(field: RowField<Row, Item>, meta: LayoutMeta, row: number | undefined) =>
  field.shown === undefined || (row !== undefined && field.shown(meta, row));

/** Blocks of one row: its shown fields (all of them with `everything`) and its Remove button. */
const rowBlocks = <Row, Item>(fields: ReadonlyArray<RowField<Row, Item>>, meta: LayoutMeta, row: number, everything: boolean) =>
  fields.filter((f) => everything || isShownIn(f, meta, row)).length + 1;

/** Blocks of a form with these rows; `everything`: as if every optional block (quota, vGPU settings) were shown. */
function countBlocks(meta: LayoutMeta, everything: boolean): number {
  const top = TOP_FIELDS.filter((f) => everything || isShown(f, meta)).length;
  const groups = eachGroup((group) => {
    const frame = (group.divider ? 1 : 0) + 2; // header and Add button
    return frame + meta[group.metaKey].reduce((sum, row) => sum + rowBlocks(group.fields, meta, row, everything), 0);
  });
  return groups.reduce((a, b) => a + b, top);
}

export function blockCount(meta: LayoutMeta): number {
  return countBlocks(meta, false);
}

/** Whether one more row of this kind still fits in Slack's 100 blocks. */
export function canAdd(meta: ModalMeta, kind: 'd' | 'n' | 'v'): boolean {
  const [extra] = eachGroup((group) => (group.metaKey === kind ? rowBlocks(group.fields, meta, meta.next, true) : 0)).filter(Boolean);
  // Room is kept for the quota note and for every device row turning into a vGPU (its settings
  // appear when the group is picked), so a form never outgrows Slack's limit.
  return countBlocks(meta, true) + (extra ?? 0) <= MAX_MODAL_BLOCKS;
}

function groupBlocks<Row extends { row: number }, Item>(group: RowGroup<Row, Item>, form: FormContext): types.KnownBlock[] {
  const { meta } = form;
  const rows = group.rows(form.draft);
  const blocks: types.KnownBlock[] = group.divider ? [{ type: 'divider' }] : [];
  blocks.push({ type: 'section', block_id: blockId(meta, `${group.stem}s_header`), text: { type: 'mrkdwn', text: `${group.title} (${rows.length})` } });
  for (const [i, row] of rows.entries()) {
    const n = i + 1;
    for (const field of group.fields) if (isShownIn(field, meta, row.row)) blocks.push(field.render(blockId(meta, field.id, row.row), row, n));
    blocks.push({
      type: 'actions',
      block_id: blockId(meta, `${group.stem}_row`, row.row),
      elements: [{ type: 'button', action_id: group.removeAction, value: String(row.row), text: text(`Remove ${group.rowLabel(n)}`) }],
    });
  }
  const room = canAdd(meta, group.metaKey);
  blocks.push({
    type: 'actions',
    block_id: blockId(meta, `${group.stem}s_add`),
    elements: [button(group.add.action, room ? group.add.label : 'Form is full', room ? group.add.value : 'full')],
  });
  return blocks;
}

export function requestModal(draft: ModalDraft, recipes: Recipe[], meta: ModalMeta, batchMax = 20): types.ModalView {
  const form: FormContext = { draft, meta, recipes, recipe: recipes.find((r) => r.id === draft.recipe), batchMax };
  const top = TOP_FIELDS.filter((f) => isShown(f, meta)).map((f) => f.render(blockId(meta, f.id), form));
  return {
    type: 'modal',
    callback_id: REQUEST_MODAL_CALLBACK,
    title: text('Request a VM'),
    submit: text('Submit for approval'),
    close: text('Cancel'),
    private_metadata: JSON.stringify(meta),
    blocks: [...top, ...eachGroup((group) => groupBlocks(group, form)).flat()],
  };
}

/** The recipe's items of a group as rows, numbered from `first`. */
function rowsFromRecipe<Row extends { row: number }, Item>(group: RowGroup<Row, Item>, base: RecipeSpec, first: number, source: RecipeSource): Row[] {
  return group.recipeItems(base).map((item, i) => group.fields.reduce((row, f) => f.fromRecipe?.(item, row, source) ?? row, { row: first + i } as Row));
}

/** A recipe as a draft for the modal; external-select labels come from what is cached, else the key. */
export function draftFromRecipe(recipe: Recipe | undefined, name: string | undefined, labelFor: (source: OptionSource, value: string) => string): ModalDraft {
  if (!recipe) return { drives: [], nics: [], devices: [], cpuCores: 2, ram: '4GiB', ...(name ? { name } : {}) };
  const source: RecipeSource = { recipe, name, label: (s, value) => (value === undefined ? undefined : { value, label: labelFor(s, value) }) };
  let draft: ModalDraft = { drives: [], nics: [], devices: [] };
  for (const field of TOP_FIELDS) if (field.fromRecipe) draft = field.fromRecipe(source, draft);
  // Row ids run on across the groups: the recipe's drives, then its NICs, then its devices.
  let next = 0;
  const fills = eachGroup((group) => {
    const rows = rowsFromRecipe(group, recipe.draft, next, source);
    next += rows.length;
    return (d: ModalDraft) => group.withRows(d, rows);
  });
  return fills.reduce((d, fill) => fill(d), draft);
}

/** The draft with vGPU settings shown exactly on the rows whose group is a vGPU pool. */
export function withVgpuRows(draft: ModalDraft, isVgpu: (group: string) => boolean): ModalDraft {
  return {
    ...draft,
    devices: draft.devices.map((d) => {
      const vgpu = d.group !== undefined && d.group.value !== TPM_CHOICE.value && isVgpu(d.group.value);
      return vgpu ? { ...d, vgpu: d.vgpu ?? { flags: [] } } : { row: d.row, group: d.group };
    }),
  };
}

type StateValues = Record<
  string,
  Record<
    string,
    { type: string; value?: string | null; selected_option?: { value: string; text: { text: string } } | null; selected_options?: Array<{ value: string }> }
  >
>;

/** A group's rows as the form holds them: each row its id and what its shown fields read. */
function rowsFromState<Row extends { row: number }, Item>(
  group: RowGroup<Row, Item>,
  meta: ModalMeta,
  valueOf: (field: string, row: number) => FieldValue,
): Row[] {
  return meta[group.metaKey].map((row) => group.fields.filter((f) => isShownIn(f, meta, row)).reduce((r, f) => f.read(valueOf(f.id, row), r), { row } as Row));
}

/** What the user has in the form now (for submit, and to rebuild the view when rows change). */
export function draftFromState(values: StateValues, meta: ModalMeta): ModalDraft {
  const valueOf = (field: string, row?: number): FieldValue => {
    const block = values[blockId(meta, field, row)];
    const v = block ? Object.values(block)[0] : undefined;
    const raw = v?.value ?? v?.selected_option?.value ?? undefined;
    const picked = v?.selected_option;
    return {
      text: raw === null || raw === undefined || raw === '' ? undefined : raw,
      choice: picked ? { value: picked.value, label: picked.text.text } : undefined,
      checked: new Set((v?.selected_options ?? []).map((o) => o.value)),
    };
  };
  let draft: ModalDraft = { drives: [], nics: [], devices: [] };
  for (const field of TOP_FIELDS) if (field.read) draft = field.read(valueOf(field.id), draft, meta);
  for (const fill of eachGroup((group) => (d: ModalDraft) => group.withRows(d, rowsFromState(group, meta, valueOf)))) draft = fill(draft);
  return draft;
}

/**
 * The draft as spec input. Fields the modal does not show (rtc_base, os_family, other cloud-init
 * files, console password hash, settings_args…) come from the recipe it started from, and so do
 * the secrets its user-data shows as placeholders.
 */
export function specInputFromDraft(draft: ModalDraft, recipe: Recipe | undefined): Record<string, unknown> {
  const base = recipe?.draft;
  const vm: Record<string, unknown> = { ...(base ? { ...base.vm } : {}) };
  const outside: Record<string, unknown> = {};
  for (const field of TOP_FIELDS)
    for (const [path, write] of Object.entries(field.spec ?? {})) {
      if (path.startsWith('vm.')) vm[path.slice('vm.'.length)] = write(draft, base);
      else outside[path] = write(draft, base);
    }
  for (const key of Object.keys(vm)) if (vm[key] === undefined) delete vm[key];
  const lists = eachGroup((group): [string, unknown] => [
    group.list,
    group.rows(draft).map((row) => {
      const item = base ? group.recipeItem(base, row) : undefined;
      const values: Record<string, unknown> = {};
      for (const field of group.fields) for (const [key, write] of Object.entries(field.spec ?? {})) values[key] = write(row, item);
      return group.toSpec(values, row, item);
    }),
  ]);
  return { vm, ...Object.fromEntries(lists), ...outside };
}

/** A field, of the top part or of a row, as far as error routing sees it. */
type PathClaims = { id: string; spec?: object | undefined; errors?: readonly string[] | undefined };

/** The spec paths whose errors a field shows: where it writes in the spec, and the handler's own checks. */
export const fieldPaths = (field: PathClaims): string[] => [...Object.keys(field.spec ?? {}), ...(field.errors ?? [])];

const segments = (path: string) => path.split(/[.[\]]/).filter(Boolean);

/** The field (of those given) claiming the longest leading part of the path, if any. */
function claimant<F extends PathClaims>(fields: readonly F[], path: string): F | undefined {
  const wanted = segments(path);
  let best: { field: F; length: number } | undefined;
  for (const field of fields)
    for (const claimed of fieldPaths(field).map(segments))
      if (claimed.every((s, i) => wanted[i] === s) && claimed.length > (best?.length ?? 0)) best = { field, length: claimed.length };
  return best?.field;
}

/** Map a spec field error (`drives[1].disksize`) to the block that shows it. */
export function blockForPath(path: string, meta: ModalMeta): string {
  const m = /^(drives|nics|devices)\[(\d+)\](.*)$/.exec(path);
  if (m) {
    const [, list, index, rest] = m;
    const [target] = eachGroup((group) => {
      if (group.list !== list) return undefined;
      const row = meta[group.metaKey][Number(index)];
      const field = claimant(
        group.fields.filter((f) => isShownIn(f, meta, row)),
        rest ?? '',
      );
      return blockId(meta, field?.id ?? group.fallback, row);
    }).filter(Boolean);
    return target!;
  }
  return blockId(meta, claimant(TOP_FIELDS, path)?.id ?? FALLBACK_FIELD);
}

/** The gate refuses a requester on this form under the VM name. */
export const REQUEST_FORM_GATE: FormGate = {
  callbackId: REQUEST_MODAL_CALLBACK,
  asks: 'requester',
  refusalBlock(privateMetadata) {
    try {
      return blockId(JSON.parse(privateMetadata ?? '{}') as ModalMeta, 'name');
    } catch {
      return 'name.0'; // metadata that is not the form's: the usual name field
    }
  },
};

/** Each group's Add and Remove buttons, by the metadata key of its rows. */
export const ROW_ACTIONS = eachGroup((group) => ({ kind: group.metaKey, add: group.add.action, remove: group.removeAction }));

/** The draft with a new row of this kind (as Add makes it, with the group's defaults), or without row `removed`. */
export function withRowChanged(draft: ModalDraft, kind: 'd' | 'n' | 'v', change: { added: number } | { removed: string }): ModalDraft {
  const [changed] = eachGroup((group) => {
    if (group.metaKey !== kind) return undefined;
    const rows = group.rows(draft);
    return group.withRows(draft, 'added' in change ? [...rows, group.fresh(change.added)] : rows.filter((r) => String(r.row) !== change.removed));
  }).filter(Boolean);
  return changed!;
}
