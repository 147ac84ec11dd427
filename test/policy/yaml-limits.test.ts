/** YAML input bounds: aliases, nesting and size refused with file:line; a policy reload that is refused keeps the old policy and says why. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { maskCloudInit } from '../../src/plan/cloud-init-mask.js';
import { loadPolicyFile, parsePolicyText } from '../../src/policy/load.js';
import { PolicyHolder, PolicyLoadError, type PolicyReload } from '../../src/policy/watch.js';
import { formatRecipeError, loadRecipeFile, parseRecipeText } from '../../src/vmspec/recipes.js';
import { parseYamlInput, readYamlFile, YAML_MAX_ALIASED_VALUES } from '../../src/vmspec/yaml-input.js';
import { tempDir } from '../helpers/core.js';
import { captureLogger } from '../helpers/logs.js';
import { aliasedDrivesRecipe, aliasedPolicy, laughs, LAUGHS_MESSAGE, laughsPolicy, laughsProblem, laughsRecipe, oversize } from '../helpers/yaml-floods.js';

const TOO_LARGE = (bytes: number) => `the file is larger than 1 MiB (${bytes.toLocaleString('en-US')} bytes), the most read; hand-written YAML is a few KB`;

describe('YAML input bounds', () => {
  it('aliases may add 50,000 values in all; the alias past that is named by its line', () => {
    const scalars = (n: number) => `a: &a x\nl:\n${'- *a\n'.repeat(n)}`;
    const atLimit = parseYamlInput(scalars(YAML_MAX_ALIASED_VALUES));
    expect(atLimit.ok && (atLimit.data as { l: string[] }).l.length).toBe(YAML_MAX_ALIASED_VALUES);
    expect(parseYamlInput(scalars(YAML_MAX_ALIASED_VALUES + 1))).toEqual({
      ok: false,
      problem: {
        code: 'YAML_ALIAS_FLOOD',
        line: YAML_MAX_ALIASED_VALUES + 3,
        message:
          'too many aliases: counting this *a, aliases stand for more than 50,000 values, the most allowed (so a "billion laughs" file cannot exhaust the bot); write some of them out',
      },
    });
  });

  it('a billion laughs is refused at its fifth line; cycles, unknown anchors, deep nesting and size are problems, never throws', () => {
    const refused = parseYamlInput(laughs());
    expect(refused).toMatchObject({ ok: false, problem: { code: 'YAML_ALIAS_FLOOD', line: 5 } });
    expect(`${refused.ok || refused.problem.line}: ${refused.ok || refused.problem.message}`).toBe(laughsProblem(1));
    expect(parseYamlInput('a: &a [1, *a]\n')).toEqual({
      ok: false,
      problem: { code: 'YAML_ALIAS_CYCLE', line: 1, message: '*a is inside the value it names (&a), so it would never end' },
    });
    expect(parseYamlInput('a: 1\nb: *nope\n')).toEqual({
      ok: false,
      problem: { code: 'YAML_ALIAS_UNKNOWN', line: 2, message: '*nope names no anchor: write &nope on a value before it' },
    });
    expect(parseYamlInput(`a: ${'['.repeat(70)}${']'.repeat(70)}\n`)).toEqual({
      ok: false,
      problem: { code: 'YAML_TOO_DEEP', line: 1, message: 'nested more than 64 levels deep' },
    });
    // Deep through an alias: 40 levels under &deep, named 40 levels down.
    const deep = `a: &deep ${'['.repeat(40)}${']'.repeat(40)}\nb: ${'['.repeat(40)}*deep${']'.repeat(40)}\n`;
    expect(parseYamlInput(deep)).toEqual({
      ok: false,
      problem: { code: 'YAML_TOO_DEEP', line: 2, message: 'nested more than 64 levels deep (counting what *deep stands for)' },
    });
    const big = oversize();
    expect(parseYamlInput(big)).toEqual({ ok: false, problem: { code: 'YAML_TOO_LARGE', line: undefined, message: TOO_LARGE(big.length) } });
  });

  it('a 120-rule policy that names its group by alias loads; a billion laughs, broken YAML and an oversize file are file:line problems', () => {
    const many = parsePolicyText(aliasedPolicy(120), 'p.yml');
    expect(many.ok && many.loaded.policy.rules.map((r) => r.approve?.from)).toEqual(Array(120).fill(['U0LEAD1', 'U0LEAD2']));
    expect(parsePolicyText(laughsPolicy(), 'p.yml')).toEqual({ ok: false, errors: [`p.yml:${laughsProblem(5)}`] });
    expect(parsePolicyText('version: 1\nrules: *nope\n', 'p.yml')).toEqual({
      ok: false,
      errors: ['p.yml:2: *nope names no anchor: write &nope on a value before it'],
    });
    expect(parsePolicyText('version: 1\nrules: [\n', 'p.yml')).toEqual({ ok: false, errors: [expect.stringMatching(/^p\.yml:3: not valid YAML: /)] });
    expect(parsePolicyText(oversize(), 'p.yml')).toEqual({ ok: false, errors: [`p.yml:1: (file): ${TOO_LARGE(oversize().length)}`] });
  });

  it('recipes: aliased drives load up to the drive limit; a billion laughs is named by line, in the recipe or in its cloud-config', () => {
    const thirty = parseRecipeText(aliasedDrivesRecipe(30), 'r.yml');
    expect(thirty.ok && thirty.recipe.draft.drives).toHaveLength(30);
    const many = parseRecipeText(aliasedDrivesRecipe(120), 'r.yml');
    expect(many.ok || many.errors.map(formatRecipeError)).toEqual(['r.yml:drives: at most 32 drives']);
    const flood = parseRecipeText(laughsRecipe(), 'r.yml');
    expect(flood.ok || flood.errors.map(formatRecipeError)).toEqual([`r.yml:line ${laughsProblem(5)}`]);
    const userData = `#cloud-config\n${laughs()}password: hunter2\n`;
    const recipe = `recipe: ud\ntitle: UD\nvm:\n  cluster: "1"\n  cloudinit_files:\n    - name: user-data\n      contents: ${JSON.stringify(userData)}\n`;
    const refused = parseRecipeText(recipe, 'r.yml');
    expect(refused.ok || refused.errors.map(formatRecipeError)).toEqual([`r.yml:vm.cloudinit_files[0].contents: line 6 of user-data: ${LAUGHS_MESSAGE}`]);
  });

  it('the cloud-init mask reads a billion laughs as text that does not parse: secrets hidden line by line, at once', () => {
    // Twelve levels: 9^12 values, which the structural comparison took minutes over before.
    const text = `#cloud-config\n${laughs(12)}password: hunter2\n`;
    const masked = maskCloudInit(text);
    expect(masked.text).toContain('password: ***');
    expect(masked.text).not.toContain('hunter2');
  });

  it('files: over 1 MiB is refused without reading it all; unreadable files are named with their error', async () => {
    const { dir, remove } = await tempDir();
    try {
      const big = join(dir, 'policy.yml');
      await writeFile(big, oversize());
      expect(await readYamlFile(big)).toEqual({ ok: false, problem: { code: 'YAML_TOO_LARGE', line: undefined, message: TOO_LARGE(oversize().length) } });
      expect(await loadPolicyFile(big)).toEqual({ ok: false, errors: [`${big}:1: (file): ${TOO_LARGE(oversize().length)}`] });
      const recipe = await loadRecipeFile(big);
      expect(recipe.ok || recipe.errors.map(formatRecipeError)).toEqual([`${big}:(file): ${TOO_LARGE(oversize().length)}`]);
      expect(await readYamlFile(dir)).toMatchObject({ ok: false, problem: { code: 'YAML_UNREADABLE', errno: 'EISDIR', message: 'cannot read it (EISDIR)' } });
    } finally {
      await remove();
    }
  });
});

describe('a policy reload that is refused', () => {
  const GOOD = 'version: 1\nrules:\n  - name: all-auto\n    auto: true\n';
  let dir: string;
  let remove: () => Promise<void>;
  let file: string;
  beforeEach(async () => {
    ({ dir, remove } = await tempDir());
    file = join(dir, 'policy.yml');
    await writeFile(file, GOOD);
  });
  afterEach(() => remove());

  const nextReload = (holder: PolicyHolder) =>
    new Promise<PolicyReload>((resolve) => {
      const off = holder.onReload((r) => {
        off();
        resolve(r);
      });
    });

  it('keeps the old policy, logs every problem, says so in status() until a good file loads; SIGHUP reloads', async () => {
    const { logger, lines } = captureLogger('info');
    const holder = await PolicyHolder.open(file, { optional: false, logger });
    const good = holder.current.hash;
    // A poll too slow to fire here: the signal does the reload.
    holder.watch(3_600_000);
    try {
      await writeFile(file, laughsPolicy());
      const refused = nextReload(holder);
      process.kill(process.pid, 'SIGHUP');
      const problem = `${file}:${laughsProblem(5)}`;
      expect(await refused).toEqual({ ok: false, problems: [problem] });
      expect(holder.current.hash).toBe(good);
      expect(holder.refusal).toEqual({ at: expect.any(String), problems: [problem] });
      expect(holder.status()).toMatch(
        new RegExp(
          `^${escape(`${file} on disk is not in force: ${problem}; refused at `)}\\S+, still enforcing the policy loaded at \\S+ \\(sha256 ${good}\\)$`,
        ),
      );
      const logged = lines.map((l) => JSON.parse(l)).find((l) => l.level === 50);
      expect(logged).toMatchObject({
        msg: `the changed approval policy does not validate; the previous policy stays in force: ${problem}`,
        problems: [problem],
        inForce: good,
      });

      // Not even a file: refused, not thrown.
      await rm(file);
      await mkdir(file);
      expect(await holder.reload()).toBe(false);
      expect(holder.refusal?.problems).toEqual([`${file}:1: (file): cannot read it (EISDIR)`]);
      await rm(file, { recursive: true });

      await writeFile(file, GOOD.replace('all-auto', 'all-auto-2'));
      const loaded = nextReload(holder);
      process.kill(process.pid, 'SIGHUP');
      expect(await loaded).toEqual({ ok: true, hash: holder.current.hash });
      expect(holder.current.hash).not.toBe(good);
      expect([holder.refusal, holder.status()]).toEqual([undefined, undefined]);
      expect(lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'approval policy reloaded')).toHaveLength(1);
    } finally {
      holder.stop();
    }
  });

  it('a bad file at start is a PolicyLoadError with a stable code and every problem', async () => {
    await writeFile(file, laughsPolicy());
    const err = await PolicyHolder.open(file, { optional: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyLoadError);
    expect(err).toMatchObject({ code: 'POLICY_INVALID', problems: [`${file}:${laughsProblem(5)}`] });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
