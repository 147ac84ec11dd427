/**
 * The shape of the request form's one field registry. Each field is declared once — its block
 * id, its block, how the submitted value is read into the draft, where it goes in the spec input
 * (and so which spec errors show under it), and its value in a draft from a recipe — and the
 * form's blocks, parsing, error routing and block budget are derived from the declarations
 * (request-modal.ts). Every field is one block; repeatable groups (drives, NICs, devices) add a
 * frame (divider, header, Add button) and a Remove button per row.
 */
import type { types } from '@slack/bolt';
import type { Recipe } from '../../../vmspec/recipes.js';
import type { Choice, LayoutMeta, ModalDraft, ModalMeta, OptionSource } from './model.js';

/** What the form is rendered from. */
export interface FormContext {
  draft: ModalDraft;
  meta: ModalMeta;
  recipes: readonly Recipe[];
  /** The recipe the draft started from, if any. */
  recipe: Recipe | undefined;
  /** The most VMs one request may ask for. */
  batchMax: number;
}

/** What one block of a submitted form holds (`view.state.values[block]`), by element kind. */
export interface FieldValue {
  /** Typed text, a number as text or a static select's value; undefined when empty. */
  text: string | undefined;
  /** An external select's choice with its label. */
  choice: Choice | undefined;
  /** The values of ticked checkboxes. */
  checked: ReadonlySet<string>;
}

/** The recipe a draft is made from, the name asked for, and labels for external-select values. */
export interface RecipeSource {
  recipe: Recipe;
  name: string | undefined;
  label: (source: OptionSource, value: string | undefined) => Choice | undefined;
}

/** The recipe's own spec (what the form starts from and falls back to). */
export type RecipeSpec = Recipe['draft'];

/** Values written into the spec input, by spec path (`vm.ram`, `power_on`; in a row, `disksize`). */
export type SpecWriters<Source, Base> = Record<string, (source: Source, base: Base) => unknown>;

/** A field of the form's top part (one block). */
export interface FormField {
  /** The block id's stem: `blockId(meta, id)`. */
  id: string;
  /** Whether this form shows it; absent: always. The budget counts it only where shown. */
  shown?(meta: LayoutMeta): boolean;
  render(blockId: string, form: FormContext): types.KnownBlock;
  /** The submitted value put into the draft. */
  read?(value: FieldValue, draft: ModalDraft, meta: ModalMeta): ModalDraft;
  /** Where the draft's value goes in the spec input; spec errors at these paths show under this field. */
  spec?: SpecWriters<ModalDraft, RecipeSpec | undefined>;
  /** Errors of checks made outside the spec (the submit handler's), by path, shown under this field. */
  errors?: readonly string[];
  /** Its value in a draft made from a recipe. */
  fromRecipe?(source: RecipeSource, draft: ModalDraft): ModalDraft;
}

/** A field of a repeatable row (one block per row). */
export interface RowField<Row, SpecRow> {
  id: string;
  /** Whether this row shows it (the vGPU settings); absent: always. */
  shown?(meta: LayoutMeta, row: number): boolean;
  /** `n`: the row's position, from 1. */
  render(blockId: string, row: Row, n: number): types.KnownBlock;
  read(value: FieldValue, row: Row): Row;
  /** Where the row's value goes in its spec item (paths relative to the item). */
  spec?: SpecWriters<Row, SpecRow | undefined>;
  /** Paths (relative to the item) of errors shown here that no `spec` key names. */
  errors?: readonly string[];
  fromRecipe?(item: SpecRow, row: Row, source: RecipeSource): Row;
}

/** A repeatable group of rows: drives, NICs, devices. */
export interface RowGroup<Row extends { row: number }, SpecRow> {
  /** The spec list (and draft list) it fills. */
  list: 'drives' | 'nics' | 'devices';
  /** Its row ids in the metadata. */
  metaKey: 'd' | 'n' | 'v';
  /** Block id stem of its frame and Remove buttons: `${stem}s_header`, `${stem}_row_N`, `${stem}s_add`. */
  stem: string;
  /** A divider before the header. */
  divider: boolean;
  /** The header's title (the count of rows follows). */
  title: string;
  /** "drive 2", for the Remove button. */
  rowLabel(n: number): string;
  add: { action: string; label: string; value: string };
  removeAction: string;
  fields: ReadonlyArray<RowField<Row, SpecRow>>;
  /** Its rows in a draft, and a draft with these rows instead. */
  rows(draft: ModalDraft): Row[];
  withRows(draft: ModalDraft, rows: Row[]): ModalDraft;
  /** The field a row's error goes to when no field claims its path. */
  fallback: string;
  /** A new row, as Add makes it. */
  fresh(row: number): Row;
  /** The recipe's item this row came from, if any. */
  recipeItem(base: RecipeSpec, row: Row): SpecRow | undefined;
  /** The spec item: the fields' values merged with what the recipe's item has that the form does not show. */
  toSpec(values: Record<string, unknown>, row: Row, item: SpecRow | undefined): Record<string, unknown>;
  /** The recipe's items, each made a row of this group. */
  recipeItems(base: RecipeSpec): readonly SpecRow[];
}
