/** A NIC's static `ipaddress` in a spec: IPv4 or IPv6, refused with the field named otherwise. */
import { describe, expect, it } from 'vitest';
import { beyondRecipe } from '../../src/vmspec/recipe-bounds.js';
import { parseRecipeText } from '../../src/vmspec/recipes.js';
import { completeSpec, parseSpec } from '../../src/vmspec/validate.js';

const withNics = (...nics: object[]) => ({ vm: { name: 'a' }, nics });
const errorsOf = (input: unknown) => {
  const r = parseSpec(input);
  return r.ok ? [] : r.errors;
};

describe("a NIC's static IP address", () => {
  it('takes an IPv4 or an IPv6 address, trimmed, and is absent unless given', () => {
    const r = parseSpec(withNics({ vnet: 3, ipaddress: ' 10.0.0.5 ' }, { vnet: 4, ipaddress: 'fd00::5' }, { vnet: 5 }));
    expect(r.ok && r.value.nics.map((n) => n.ipaddress)).toEqual(['10.0.0.5', 'fd00::5', undefined]);
    expect(r.ok && 'ipaddress' in r.value.nics[2]!).toBe(false);
  });

  it('refuses what is not one address, naming the field and what was given', () => {
    expect(errorsOf(withNics({ vnet: 3, ipaddress: '10.0.0.300' }))).toEqual([
      { path: 'nics[0].ipaddress', message: '"10.0.0.300" is not an IP address (IPv4 like 10.0.0.5, or IPv6)' },
    ]);
    expect(errorsOf(withNics({ vnet: 3 }, { vnet: 3, ipaddress: 'web-01.lab' }))).toEqual([
      { path: 'nics[1].ipaddress', message: '"web-01.lab" is not an IP address (IPv4 like 10.0.0.5, or IPv6)' },
    ]);
    expect(errorsOf(withNics({ vnet: 3, ipaddress: '10.0.0.5/24' }))).toEqual([
      { path: 'nics[0].ipaddress', message: '"10.0.0.5/24" is not an IP address: give the address alone, without the prefix length' },
    ]);
    expect(errorsOf(withNics({ vnet: 3, ipaddress: '' }))).toEqual([
      { path: 'nics[0].ipaddress', message: '"" is not an IP address (IPv4 like 10.0.0.5, or IPv6)' },
    ]);
    expect(errorsOf(withNics({ vnet: 3, ipaddress: 10 }))).toEqual([{ path: 'nics[0].ipaddress', message: 'the IP address must be text, such as 10.0.0.5' }]);
  });

  it('refuses the same address on two NICs of one VM', () => {
    expect(errorsOf(withNics({ vnet: 3, ipaddress: '10.0.0.5' }, { vnet: 4, ipaddress: '10.0.0.5' }))).toEqual([
      { path: 'nics[1].ipaddress', message: 'two NICs are given the address 10.0.0.5' },
    ]);
  });
});

describe("a recipe's static address", () => {
  function recipe(editable: string) {
    const parsed = parseRecipeText(`recipe: db\ntitle: DB\nvm: { cpu_cores: 2 }\nnics:\n  - { vnet: "3", ipaddress: 10.3.0.20 }\n${editable}`, 'db.yml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    return parsed.recipe;
  }
  const specWith = (r: ReturnType<typeof recipe>, ipaddress: string | undefined) => {
    const spec = completeSpec(r.draft, 'db-01');
    if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
    return { ...spec.value, nics: spec.value.nics.map((n) => ({ ...n, ipaddress })) };
  };

  it('is part of its NICs: changing or removing it is a NIC change, which only `editable: { nics: true }` allows', () => {
    const fixed = recipe('');
    expect(fixed.draft.nics[0]!.ipaddress).toBe('10.3.0.20');
    expect(beyondRecipe(fixed, specWith(fixed, '10.3.0.20'))).toBeUndefined();
    expect(beyondRecipe(fixed, specWith(fixed, '10.3.0.21'))).toBe('recipe db does not let NICs change');
    expect(beyondRecipe(fixed, specWith(fixed, undefined))).toBe('recipe db does not let NICs change');
    const open = recipe('editable: { nics: true }\n');
    expect(beyondRecipe(open, specWith(open, '10.3.0.21'))).toBeUndefined();
  });
});
