/** Question rows as VergeOS sends them: fields may be missing, null, "" or strings of numbers and JSON. */
import { describe, expect, it } from 'vitest';
import { isAskedQuestion, recipeQuestionSchema } from '../../src/vergeos/recipe-types.js';

describe('a recipe question row', () => {
  it('parses with only its key, name and type (no list, no bounds): defaults read as VergeOS means them', () => {
    const q = recipeQuestionSchema.parse({ $key: 7, name: 'YB_CPU_CORES', type: 'num' });
    expect(q).toMatchObject({
      key: '7',
      name: 'YB_CPU_CORES',
      label: 'YB_CPU_CORES',
      type: 'num',
      choices: undefined,
      min: undefined,
      max: undefined,
      enabled: true,
      required: false,
    });
    expect(isAskedQuestion(q)).toBe(true);
  });

  it('reads bounds as numbers, numeric strings, null or "" (max 0: none), a list as a JSON string, and gov’s type aliases', () => {
    const q = recipeQuestionSchema.parse({
      $key: '8',
      name: 'YB_IP_ADDR_TYPE',
      type: 'row_selection',
      min: '2',
      max: 0,
      list: '{"dhcp":"DHCP","static":"Static"}',
    });
    expect(q).toMatchObject({ type: 'row', min: 2, max: undefined, choices: { dhcp: 'DHCP', static: 'Static' } });
    expect(recipeQuestionSchema.parse({ $key: 9, name: 'X', type: 'string', min: '', max: null, list: 'not json' })).toMatchObject({
      min: undefined,
      max: undefined,
      choices: undefined,
    });
  });

  it('plumbing is never asked: internal types, disabled questions, the $database section', () => {
    expect(isAskedQuestion(recipeQuestionSchema.parse({ $key: 1, name: 'A', type: 'hidden' }))).toBe(false);
    expect(isAskedQuestion(recipeQuestionSchema.parse({ $key: 2, name: 'B', type: 'num', enabled: false }))).toBe(false);
    expect(isAskedQuestion(recipeQuestionSchema.parse({ $key: 3, name: 'C', type: 'num', section_name: '$database' }))).toBe(false);
  });
});
