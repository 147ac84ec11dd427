/**
 * User-data in Slack, as pure functions: the form shows placeholders and puts the recipe's
 * secrets back on submit; too long a text is kept as the recipe has it; the approval message
 * shows the user-data masked when it is not the recipe's own, within Slack's limits.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { messageSchema, modalViewSchema } from '../../src/slack/limits.js';
import { approvalRequest, decidedRequest } from '../../src/slack/views/messages.js';
import { blockId, draftFromRecipe, draftFromState, metaFor, requestModal, specInputFromDraft, type ModalDraft } from '../../src/slack/views/request-modal.js';
import { userDataForForm, userDataFromForm, userDataOf } from '../../src/slack/views/user-data.js';
import type { RequestRecord } from '../../src/store/records.js';
import type { Recipe } from '../../src/vmspec/recipes.js';
import { parseSpec } from '../../src/vmspec/validate.js';
import { LONG_USER_DATA, recipeWithUserData, SECRET_USER_DATA, SECRETS } from '../helpers/secret-recipes.js';

const secretRecipe = recipeWithUserData('secret-cloud', SECRET_USER_DATA);
const longRecipe = recipeWithUserData('long-cloud', LONG_USER_DATA);
const label = (_source: string, value: string) => value;
const expectNoSecret = (payload: unknown) => {
  const raw = JSON.stringify(payload);
  for (const secret of SECRETS) expect(raw).not.toContain(JSON.stringify(secret).slice(1, -1));
};
/** The user-data file a form with this user-data text would file. */
const filed = (draft: ModalDraft, recipe: Recipe) => userDataOf((specInputFromDraft(draft, recipe) as { vm: { cloudinit_files?: [] } }).vm);

describe('the request form and user-data', () => {
  const draft = draftFromRecipe(secretRecipe, 'sec-01', label);
  const shown = draft.userData!;

  it('shows each secret as a placeholder that names it, and nothing of the secrets', () => {
    const view = requestModal(draft, [secretRecipe], metaFor(draft, 0));
    expectNoSecret(view);
    expect(shown).toContain('passwd: «secret 1 from the recipe»');
    expect(shown).toContain('root:«secret 2 from the recipe»\n    ops:«secret 3 from the recipe»');
    expect(shown).toContain("echo 'root:«secret 4 from the recipe»' | chpasswd");
    // Not secrets: kept as written.
    expect(shown).toContain('lock_passwd: false');
    expect(shown).toContain('sudo: ALL=(ALL) NOPASSWD:ALL');
    expect(shown).toContain('# The admin user; its password is a hash, never the password itself.');
    expect(JSON.stringify(view)).toContain('put back when you submit');
  });

  it('an unchanged form files exactly the recipe user-data, even with the blank space Slack trims', () => {
    expect(filed(draft, secretRecipe)).toBe(SECRET_USER_DATA);
    expect(filed({ ...draft, userData: shown.trimEnd().replace(/\n/g, '\r\n') }, secretRecipe)).toBe(SECRET_USER_DATA);
  });

  it('an edited line is the requester’s; the placeholders left in place get their secrets back', () => {
    const edited = shown.replace('package_update: true', 'package_update: false\npackages: [nginx]');
    const result = filed({ ...draft, userData: edited }, secretRecipe)!;
    expect(result).toBe(SECRET_USER_DATA.replace('package_update: true', 'package_update: false\npackages: [nginx]'));
    expect(parse(result)).toEqual({ ...(parse(SECRET_USER_DATA) as object), package_update: false, packages: ['nginx'] });
  });

  it('a placeholder deleted takes its secret with it', () => {
    const withoutRootLine = shown.replace("  - echo 'root:«secret 4 from the recipe»' | chpasswd\n", '');
    const result = filed({ ...draft, userData: withoutRootLine }, secretRecipe)!;
    expect(result).not.toContain('Rig-Echo-Pass-3');
    for (const kept of SECRETS.slice(0, 3)) expect(result).toContain(kept);
    expect(filed({ ...draft, userData: undefined }, secretRecipe)).toBeUndefined();
  });

  it('without a recipe the text typed is filed as it is', () => {
    expect(userDataFromForm('#cloud-config\npassword: «secret 1 from the recipe»\n', undefined)).toBe('#cloud-config\npassword: «secret 1 from the recipe»\n');
    expect(userDataForForm('#cloud-config\nhostname: a\n').text).toBe('#cloud-config\nhostname: a\n');
  });

  it('user-data too long for a Slack input: the form opens without it, says so, and files the recipe’s', () => {
    expect(LONG_USER_DATA.length).toBeGreaterThan(3000);
    const long = draftFromRecipe(longRecipe, 'long-01', label);
    expect(long.userDataKept).toBe(true);
    const meta = metaFor(long, 0);
    const view = requestModal(long, [longRecipe], meta);
    const checked = modalViewSchema.safeParse(view);
    expect(checked.success ? [] : checked.error.issues).toEqual([]);
    expectNoSecret(view);
    expect(JSON.stringify(view)).toContain(`the recipe's (${LONG_USER_DATA.length} characters) is used as it is`);
    // The form comes back without the field: what is filed is the recipe's, byte for byte.
    const back = draftFromState({ [blockId(meta, 'name')]: { value: { type: 'plain_text_input', value: 'long-01' } } }, meta);
    expect(back.userDataKept).toBe(true);
    expect(metaFor({ ...long, ...back }, 1).u).toBe(1); // a rebuilt form (a row added) keeps it that way
    expect(filed({ ...long, ...back }, longRecipe)).toBe(LONG_USER_DATA);
  });
});

function requestWith(userData: string, recipe: Recipe | undefined): RequestRecord {
  const spec = parseSpec({
    vm: { name: 'sec-01', cloudinit_datasource: 'nocloud', cloudinit_files: [{ name: 'user-data', contents: userData }] },
    drives: [{ name: 'OS', disksize: '20GiB' }],
    nics: [{ vnet: '3' }],
  });
  if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
  const now = new Date().toISOString();
  return {
    kind: 'vm',
    id: 'REQ-7',
    version: 0,
    state: 'pending',
    createdAt: now,
    updatedAt: now,
    expiresAt: now,
    requester: 'U0REQUESTER',
    spec: spec.value,
    approvals: [],
    warnings: [],
    ...(recipe ? { recipe: recipe.id } : {}),
  };
}

const texts = (m: { blocks: unknown[] }) => JSON.stringify(m.blocks);

describe('the approval message and user-data', () => {
  it('the recipe’s own user-data is named, not shown', () => {
    const message = approvalRequest(requestWith(SECRET_USER_DATA, secretRecipe), [], [secretRecipe]);
    expect(texts(message)).toContain('Cloud-init user-data: as in recipe `secret-cloud`');
    expect(texts(message)).not.toContain('package_update');
    expectNoSecret(message);
  });

  it('edited user-data is shown masked, in a code block, saying it changed; the recipe’s secrets stay hidden wherever they moved', () => {
    const edited = `${SECRET_USER_DATA}write_files:\n  - path: /root/note\n    content: reminder Rig-Ops-Pass-2\n`.replace(
      'package_update: true',
      'package_update: false',
    );
    const request = requestWith(edited, secretRecipe);
    for (const message of [
      approvalRequest(request, [], [secretRecipe]),
      decidedRequest({ ...request, state: 'approved', decidedBy: 'U0LEAD1', decidedAt: request.createdAt }, [], [secretRecipe]),
    ]) {
      const raw = texts(message);
      expect(raw).toContain('*Cloud-init user-data*, changed from recipe `secret-cloud` (secrets masked)\\n```#cloud-config');
      expect(raw).toContain('package_update: false');
      expect(raw).toContain('content: reminder ***');
      expect(raw).toContain('passwd: \\"***\\"');
      expectNoSecret(message);
      expect(messageSchema.safeParse(message).success).toBe(true);
    }
  });

  it('without a recipe (or the recipe list), any user-data is shown masked', () => {
    for (const message of [approvalRequest(requestWith(SECRET_USER_DATA, undefined)), approvalRequest(requestWith(SECRET_USER_DATA, secretRecipe))]) {
      expect(texts(message)).toContain('*Cloud-init user-data* (secrets masked)');
      expect(texts(message)).toContain('root:***');
      expectNoSecret(message);
    }
  });

  it('user-data removed from what the recipe has is said', () => {
    const request = requestWith(SECRET_USER_DATA, secretRecipe);
    const without = { ...request, spec: { ...request.spec, vm: { ...request.spec.vm, cloudinit_files: undefined } } };
    expect(texts(approvalRequest(without, [], [secretRecipe]))).toContain('No cloud-init user-data: the requester removed the one of recipe `secret-cloud`.');
    expect(texts(approvalRequest(without))).not.toContain('user-data');
  });

  it('long user-data is cut to fit the message, saying how much is shown', () => {
    const huge = `${LONG_USER_DATA}${'# filler line to make it long\n'.repeat(2000)}`;
    const message = approvalRequest(requestWith(huge, secretRecipe), [], [secretRecipe]);
    const checked = messageSchema.safeParse(message);
    expect(checked.success ? [] : checked.error.issues).toEqual([]);
    expect(texts(message)).toMatch(/```\\n_Cut to fit a Slack message: the first \d{4} of \d{5} characters\._/);
    expectNoSecret(message);
  });
});
