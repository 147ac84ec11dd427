/** What a form may change of a recipe and still count as it: declared fields within bounds, nothing else. */
import { describe, expect, it } from 'vitest';
import { beyondRecipe } from '../../src/vmspec/recipe-bounds.js';
import { parseRecipeText, type Recipe } from '../../src/vmspec/recipes.js';
import { completeSpec } from '../../src/vmspec/validate.js';
import type { VmSpec } from '../../src/vmspec/schema.js';

const WEB = `recipe: web
title: Web
vm: { cpu_cores: 2, ram: 4GiB, cluster: "1", uefi: true }
drives:
  - { name: OS, media: disk, disksize: 50GiB, preferred_tier: "1" }
nics:
  - { vnet: "3" }
`;

function recipe(extra = ''): Recipe {
  const parsed = parseRecipeText(`${WEB}${extra}`, 'web.yml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.recipe;
}

function specOf(r: Recipe, change: (s: VmSpec) => VmSpec = (s) => s): VmSpec {
  const spec = completeSpec(r.draft, 'web-01');
  if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
  return change(spec.value);
}

const vm = (s: VmSpec, v: Partial<VmSpec['vm']>): VmSpec => ({ ...s, vm: { ...s.vm, ...v } });

describe('recipe bounds', () => {
  it('without editable: only the name and the description may change', () => {
    const r = recipe();
    expect(beyondRecipe(r, specOf(r))).toBeUndefined();
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => vm(s, { name: 'other', description: 'mine' })),
      ),
    ).toBeUndefined();
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => vm(s, { cpu_cores: 3 })),
      ),
    ).toBe('3 vCPU is beyond what recipe web allows (exactly 2)');
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => vm(s, { ram: 8192 })),
      ),
    ).toBe('8 GiB RAM is beyond what recipe web allows (exactly 4 GiB)');
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => vm(s, { secure_boot: true })),
      ),
    ).toBe('VM settings other than size differ from recipe web');
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => ({ ...s, nics: [{ ...s.nics[0]!, vnet: '4' }] })),
      ),
    ).toBe('recipe web does not let NICs change');
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => ({ ...s, devices: [{ type: 'node_host_gpu_devices', resource_group: '1', count: 1, settings_args: {} }] })),
      ),
    ).toBe('recipe web does not let devices change');
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => ({ ...s, drives: [{ ...s.drives[0]!, disksize: 51 * 1024 ** 3 }] })),
      ),
    ).toBe('drive 1 of 51 GiB is beyond what recipe web allows');
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => ({ ...s, power_on: true })),
      ),
    ).toBe('recipe web does not let power-on change');
  });

  it('editable fields within their bounds keep the match; beyond them drop it', () => {
    const r = recipe(`editable:
  cpu_cores: { max: 4 }
  ram: { min: 2GiB, max: 8GiB }
  disks: { max_size: 100GiB, add: 1 }
  nics: true
`);
    expect(r.editable).toEqual({
      cpu_cores: { max: 4 },
      ram: { min: 2 * 1024 ** 3, max: 8 * 1024 ** 3 },
      disks: { max_size: 100 * 1024 ** 3, add: 1 },
      nics: true,
    });
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => vm(s, { cpu_cores: 4, ram: 8192 })),
      ),
    ).toBeUndefined();
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => vm(s, { cpu_cores: 5 })),
      ),
    ).toBe('5 vCPU is beyond what recipe web allows (at most 4)');
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => vm(s, { ram: 1024 })),
      ),
    ).toBe('1 GiB RAM is beyond what recipe web allows (2 GiB–8 GiB)');
    const disk = (size: number) => ({ media: 'disk' as const, interface: 'virtio-scsi' as const, disksize: size * 1024 ** 3 });
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => ({ ...s, drives: [{ ...s.drives[0]!, disksize: 100 * 1024 ** 3 }, disk(10)] })),
      ),
    ).toBeUndefined();
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => ({ ...s, drives: [...s.drives, disk(101)] })),
      ),
    ).toBe('drive 2 is beyond what recipe web lets a form add');
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => ({ ...s, drives: [...s.drives, disk(1), disk(1)] })),
      ),
    ).toBe('3 drives; recipe web allows 2');
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => ({ ...s, drives: [] })),
      ),
    ).toBe('recipe web does not let drives be removed');
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => ({ ...s, nics: [] })),
      ),
    ).toBeUndefined();
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => vm(s, { cluster: '2' })),
      ),
    ).toBe('recipe web does not let the cluster change');
  });

  it('a device type filled in by pre-flight is not an edit', () => {
    const r = recipe(`devices:
  - { resource_group: 1f67f07e-f653-db95-c475-01b8a2ea0ff1 }
`);
    expect(
      beyondRecipe(
        r,
        specOf(r, (s) => ({ ...s, devices: [{ ...s.devices[0]!, type: 'node_host_gpu_devices' }] })),
      ),
    ).toBeUndefined();
  });

  it('a bad editable block is a file:field error', () => {
    const parsed = parseRecipeText(`${WEB}editable: { cpu_cores: { max: 0 }, ram: { max: lots }, wheels: true }\n`, 'web.yml');
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => `${e.file}:${e.path}: ${e.message}`)).toEqual([
      'web.yml:editable.cpu_cores.max: must be at least 1 core',
      'web.yml:editable.ram: ram must be true (any) or { min, max } sizes like 16GiB',
      "web.yml:editable.wheels: unknown field (field names are VergeOS's own, e.g. cpu_cores, ram, disksize)",
    ]);
  });
});
