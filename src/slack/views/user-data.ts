/**
 * Cloud-init user-data in Slack, never with its secrets. The request form shows a recipe's
 * user-data with each secret replaced by a placeholder that names it, and puts the recipe's
 * values back on submit; user-data too long for a Slack input is used as the recipe has it. The
 * lead's approval shows the user-data, masked, unless it is exactly the recipe's.
 */
import type { types } from '@slack/bolt';
import { maskCloudInit, unmaskCloudInit } from '../../plan/cloud-init-mask.js';
import type { RequestRecord } from '../../store/records.js';
import type { Recipe } from '../../vmspec/recipes.js';
import { codeBlock, escapeText } from '../escape.js';

/** The most a plain_text_input holds (Slack's max_length). */
export const USER_DATA_INPUT_MAX = 3000;
/** Slack's limit on a section's text. */
const SECTION_TEXT_MAX = 3000;
/** Fewer characters than this is not worth a code block; a note says why instead. */
const SHOW_AT_LEAST = 200;

export const secretPlaceholder = (index: number): string => `«secret ${index + 1} from the recipe»`;
export const hasSecretPlaceholder = (text: string): boolean => /«secret \d+ from the recipe»/.test(text);

/** The user-data file's contents (named `user-data` or `/user-data`), if any. */
export function userDataOf(vm: { cloudinit_files?: ReadonlyArray<{ name: string; contents: string }> | undefined }): string | undefined {
  return vm.cloudinit_files?.find((f) => f.name.replace(/^\//, '') === 'user-data')?.contents;
}

/** A recipe's user-data as the form shows it: each secret a numbered placeholder. */
export function userDataForForm(recipeText: string): { text: string; secrets: string[] } {
  return maskCloudInit(recipeText, { marker: secretPlaceholder });
}

/** Slack may change line ends and surrounding blank space of what it sends back. */
const sameText = (a: string, b: string) => a.replace(/\r\n/g, '\n').trim() === b.replace(/\r\n/g, '\n').trim();

/**
 * The user-data a submitted form files: the recipe's own, byte for byte, when the field was left
 * as shown; otherwise what was typed, with each placeholder still in it replaced by the recipe's
 * secret (a placeholder deleted takes its secret with it).
 */
export function userDataFromForm(typed: string | undefined, recipeText: string | undefined): string | undefined {
  if (typed === undefined || recipeText === undefined) return typed;
  const shown = userDataForForm(recipeText);
  if (sameText(typed, shown.text)) return recipeText;
  return unmaskCloudInit(typed, shown.secrets, secretPlaceholder);
}

/** The masked text in a code block, cut (at a line end where possible) to fit both limits, saying so. */
function shownIn(title: string, text: string, room: number): types.KnownBlock {
  const build = (shown: number): types.SectionBlock => {
    const notice = shown < text.length ? `\n_Cut to fit a Slack message: the first ${shown} of ${text.length} characters._` : '';
    return { type: 'section', text: { type: 'mrkdwn', text: `${title}\n${codeBlock(text.slice(0, shown), SECTION_TEXT_MAX)}${notice}` } };
  };
  const fits = (b: types.SectionBlock) => (b.text?.text.length ?? 0) <= SECTION_TEXT_MAX && JSON.stringify(b).length <= room;
  if (fits(build(text.length))) return build(text.length);
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(build(mid))) lo = mid;
    else hi = mid - 1;
  }
  const lineEnd = text.lastIndexOf('\n', lo);
  // At a line end if one is near; never between the halves of a surrogate pair.
  const shown = lineEnd > lo / 2 ? lineEnd : /[\uD800-\uDBFF]/.test(text.charAt(lo - 1)) ? lo - 1 : lo;
  if (shown >= SHOW_AT_LEAST) return build(shown);
  return { type: 'context', elements: [{ type: 'mrkdwn', text: `${title}: ${text.length} characters, too long to show in this message.` }] };
}

/**
 * What the lead sees of the user-data: nothing when there is none, a line when it is exactly the
 * recipe's, else the text with secrets masked (the recipe's secrets too, wherever they were
 * moved). `recipes` is the bot's recipe list; without it the text is always shown. `room` is
 * how many characters of block JSON the message has left.
 */
export function userDataBlock(request: RequestRecord, recipes: readonly Recipe[] | undefined, room: number): types.KnownBlock | undefined {
  const text = userDataOf(request.spec.vm);
  const recipe = request.recipe === undefined ? undefined : recipes?.find((r) => r.id === request.recipe);
  const recipeText = recipe ? userDataOf(recipe.draft.vm) : undefined;
  const from = recipe ? ` recipe \`${escapeText(recipe.id)}\`` : '';
  const line = (says: string): types.ContextBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text: `:page_facing_up: ${says}` }] });
  if (text === undefined) return recipeText === undefined ? undefined : line(`No cloud-init user-data: the requester removed the one of${from}.`);
  if (recipe && recipeText === text) return line(`Cloud-init user-data: as in${from}.`);
  const masked = maskCloudInit(text, { alsoHide: recipeText === undefined ? [] : maskCloudInit(recipeText).secrets }).text;
  const title = `*Cloud-init user-data*${recipe ? `, changed from${from}` : ''} (secrets masked)`;
  return shownIn(title, masked, room);
}
