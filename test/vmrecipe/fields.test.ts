/** The form a VergeOS recipe asks: one field per asked question, in its section, in VergeOS's order. */
import { describe, expect, it } from 'vitest';
import { fieldFor, recipeForm, type RecipeField } from '../../src/vmrecipe/fields.js';
import { question, SECTIONS, ubuntuQuestions } from './recipe-fixture.js';

const form = () => recipeForm(ubuntuQuestions(), SECTIONS);
const field = (name: string): RecipeField => {
  const found = form()
    .sections.flatMap((s) => s.fields)
    .find((f) => f.name === name);
  if (!found) throw new Error(`no field ${name}`);
  return found;
};

describe('recipeForm', () => {
  it('groups asked questions under their sections in orderid order, never showing $database, hidden or disabled ones', () => {
    const { sections, warnings } = form();
    expect(sections.map((s) => [s.name, s.description, s.fields.map((f) => f.name)])).toEqual([
      [
        'Virtual Machine',
        'Size and placement',
        ['YB_CPU_CORES', 'YB_RAM', 'YB_DRIVE_OS_SIZE', 'YB_DRIVE_1_SIZE', 'YB_CLUSTER', 'YB_NIC_ETH0', 'YB_UEFI', 'YB_BOOT_WAIT', 'YB_OS_VERSION', 'YB_TIER'],
      ],
      ['Cloud-init', 'First boot', ['YB_HOSTNAME', 'YB_USER', 'YB_PASSWORD', 'YB_SSH_KEYS', 'YB_IP_ADDR_TYPE']],
    ]);
    expect(warnings).toEqual([]);
  });

  it('puts a question whose section is not listed under a header of its section name, after the known ones', () => {
    const { sections } = recipeForm([question({ name: 'EXTRA', type: 'string', section: 77, section_name: 'Extras' }), ...ubuntuQuestions()], SECTIONS);
    expect(sections.map((s) => s.name)).toEqual(['Virtual Machine', 'Cloud-init', 'Extras']);
    expect(recipeForm([question({ name: 'LOOSE', type: 'string', section: null, section_name: '' })]).sections).toEqual([
      { name: '', description: '', fields: [expect.objectContaining({ name: 'LOOSE' })] },
    ]);
  });

  it('num: a plain whole number with its bounds', () => {
    expect(field('YB_CPU_CORES')).toEqual({
      name: 'YB_CPU_CORES',
      label: 'CPU cores',
      hint: '',
      help: '',
      required: true,
      readonly: false,
      questionType: 'num',
      secret: false,
      kind: 'number',
      unit: 'count',
      entry: 'a whole number',
      default: '2',
      min: 1,
      minText: '1',
      max: 16,
      maxText: '16',
    });
  });

  it('ram: in MB, shown as a size; bounds in MB and as sizes', () => {
    expect(field('YB_RAM')).toMatchObject({ kind: 'number', unit: 'MB', default: '4 GiB', min: 1024, minText: '1 GiB', max: 65536, maxText: '64 GiB' });
    expect(fieldFor(question({ name: 'R', type: 'ram', default: 1500 }))).toMatchObject({ default: '1500' });
  });

  it("disksize: in bytes, shown as a size; a default of 0 (the recipe's own size) is left blank", () => {
    expect(field('YB_DRIVE_OS_SIZE')).toMatchObject({ kind: 'number', unit: 'bytes', hint: 'blank keeps the image size' });
    expect(field('YB_DRIVE_OS_SIZE')).not.toHaveProperty('default');
    expect(field('YB_DRIVE_1_SIZE')).toMatchObject({ default: '50 GiB', max: 1099511627776, maxText: '1 TiB' });
  });

  it('seconds: a duration the form reads back', () => {
    expect(field('YB_BOOT_WAIT')).toMatchObject({ kind: 'number', unit: 'seconds', default: '5m', min: 30, minText: '30s', max: 3600, maxText: '1h' });
  });

  it('string, hostname and textarea: text with length bounds and the whole-answer pattern', () => {
    expect(field('YB_HOSTNAME')).toMatchObject({ kind: 'text', multiline: false, required: true, minLength: 2, maxLength: 63, regex: '^[a-z0-9-]+$' });
    expect(field('YB_USER')).toMatchObject({ kind: 'text', multiline: false, default: 'ubuntu', minLength: 1, maxLength: 32 });
    expect(field('YB_SSH_KEYS')).toMatchObject({ kind: 'text', multiline: true, help: 'One key a line' });
  });

  it('password: a secret, never prefilled even when the recipe has a default', () => {
    expect(field('YB_PASSWORD')).toMatchObject({ kind: 'secret', secret: true, hasDefault: false, minLength: 8 });
    const withDefault = fieldFor(question({ name: 'P', type: 'password', default: 'changeme' }));
    expect(withDefault).toMatchObject({ kind: 'secret', hasDefault: true });
    expect(JSON.stringify(withDefault)).not.toContain('changeme');
  });

  it('a dont_store text question is a secret too; a dont_store number keeps its input, marked secret', () => {
    expect(fieldFor(question({ name: 'TOKEN', type: 'string', dont_store: true, default: 'abc' }))).toMatchObject({ kind: 'secret', hasDefault: true });
    expect(fieldFor(question({ name: 'PIN', type: 'num', dont_store: true }))).toMatchObject({ kind: 'number', secret: true });
  });

  it('list: a select over its choices (object or JSON string), the default kept only when it is one of them', () => {
    expect(field('YB_IP_ADDR_TYPE')).toMatchObject({
      kind: 'select',
      options: [
        { value: 'dhcp', label: 'DHCP' },
        { value: 'static', label: 'Static' },
      ],
      default: 'dhcp',
    });
    expect(fieldFor(question({ name: 'L', type: 'list', list: { a: 'A' }, default: 'z' }))).not.toHaveProperty('default');
    expect(fieldFor(question({ name: 'L', type: 'list', table: 'vnets' }))).toMatchObject({ kind: 'row', table: 'vnets' });
  });

  it('bool: a checkbox with a boolean default', () => {
    expect(field('YB_UEFI')).toMatchObject({ kind: 'checkbox', default: true });
    expect(fieldFor(question({ name: 'B', type: 'bool' }))).toMatchObject({ kind: 'checkbox', default: false });
    expect(fieldFor(question({ name: 'B', type: 'bool', default: 'yes' }))).toMatchObject({ kind: 'checkbox', default: true });
  });

  it('cluster and network: the live pickers; row: a select over its table', () => {
    expect(field('YB_CLUSTER')).toMatchObject({ kind: 'picker', picker: 'cluster', default: '1' });
    expect(field('YB_NIC_ETH0')).toMatchObject({ kind: 'picker', picker: 'network', default: '__new_internal__' });
    expect(field('YB_TIER')).toMatchObject({ kind: 'row', table: 'storage_tiers', default: '1' });
  });

  it('a pattern that does not compile is left off the field, with a warning; a default that does not read is not shown', () => {
    const { sections, warnings } = recipeForm([
      question({ name: 'H', display: 'Host', type: 'hostname', regex: '([a-z' }),
      question({ name: 'R', display: 'Memory', type: 'ram', default: 'lots' }),
    ]);
    expect(sections[0]!.fields[0]).not.toHaveProperty('regex');
    expect(sections[0]!.fields[1]).not.toHaveProperty('default');
    expect(warnings).toEqual([
      "Host: the recipe's pattern ([a-z is not a valid regular expression, so answers are not checked against it",
      'Memory: the recipe\'s default "lots" is not a size in whole MB, like 8GiB or 512MiB (a bare number is MB), so none is shown',
    ]);
  });
});
