/**
 * The layers of src/ are lint rules (eslint.config.js): these lint a line of code as if it were
 * a file at a given path, with the repository's own config, and check which imports it refuses
 * and what it says. Type-aware rules are switched off here: the paths are made up, so the
 * TypeScript project does not hold them, and the import rule needs no types.
 */
import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: root, overrideConfig: [{ files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked }] });
});

/** Every message ESLint gives for `code` as the file at `filePath` (relative to the repository). */
async function lint(code: string, filePath: string): Promise<Linter.LintMessage[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages;
}

/** The import rule's messages only: what it refused (the specifier) and why (the text after it). */
async function refusals(code: string, filePath: string): Promise<string[]> {
  return (await lint(code, filePath)).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the core does not import the edges', () => {
  it('refuses the Slack layer from a core module, at any depth, for imports, type imports and re-exports', async () => {
    expect(await refusals(`import { views } from '../slack/views/index.js';\nexport { views };\n`, 'src/store/layer-probe.ts')).toEqual([
      "'../slack/views/index.js' import is restricted from being used by a pattern. the core must not import the Slack layer: return data (ids, numbers, results) and let slack/ render it.",
    ]);
    expect(await refusals(`export type { Bot } from '../../slack/bot.js';\n`, 'src/store/postgres/layer-probe.ts')).toEqual([
      expect.stringMatching(/^'\.\.\/\.\.\/slack\/bot\.js' import is restricted .* the core must not import the Slack layer/),
    ]);
    expect(await refusals(`import '../../slack/listeners/modal.js';\n`, 'src/provision/actions/layer-probe.ts')).toHaveLength(1);
    expect(await refusals(`export * from './slack/bot.js';\n`, 'src/config.ts')).toHaveLength(1);
  });

  it('refuses the CLI (its directory and src/cli.ts) and the simulators from a core module', async () => {
    expect(await refusals(`export { run } from '../cli/run.js';\n`, 'src/workflows/layer-probe.ts')).toEqual([
      "'../cli/run.js' import is restricted from being used by a pattern. the core must not import the CLI: return data and let cli/ parse arguments and print it.",
    ]);
    expect(await refusals(`export { main } from '../cli.js';\n`, 'src/requests/layer-probe.ts')).toEqual([
      expect.stringContaining('the core must not import the CLI'),
    ]);
    expect(await refusals(`export { startVergeosSim } from '../sim/index.js';\n`, 'src/policy/layer-probe.ts')).toEqual([
      "'../sim/index.js' import is restricted from being used by a pattern. the core must not import the simulators: they stand in for VergeOS and Slack from outside; take the client or endpoint as a parameter.",
    ]);
  });

  it('lets the edges import the core and each other, and a name that only starts like a layer through', async () => {
    expect(await lint(`export { fileRequest } from '../workflows/file-request.js';\n`, 'src/slack/layer-probe.ts')).toEqual([]);
    expect(await lint(`export { startVergeosSim } from '../sim/index.js';\nexport { createBot } from '../slack/bot.js';\n`, 'src/cli/layer-probe.ts')).toEqual(
      [],
    );
    expect(await lint(`export { VergeosClient } from './client.js';\n`, 'src/vergeos/layer-probe.ts')).toEqual([]);
  });
});

describe('the bottom layer does not import what is built on it', () => {
  it('refuses policy/ (and the rest of the middle) from vergeos, vmspec, plan, store and their shared modules', async () => {
    const says =
      'vergeos/, vmspec/, plan/ and store/ (with errors, log, text, ops/metrics) are the bottom layer and must not import the layers above them: move the shared piece down, or have the caller pass it in.';
    expect(await refusals(`export { evaluate } from '../policy/evaluate.js';\n`, 'src/store/layer-probe.ts')).toEqual([
      `'../policy/evaluate.js' import is restricted from being used by a pattern. ${says}`,
    ]);
    for (const [filePath, specifier] of [
      ['src/vergeos/layer-probe.ts', '../provision/provisioner.js'],
      ['src/vmspec/layer-probe.ts', '../preflight/index.js'],
      ['src/plan/layer-probe.ts', '../workflows/decide.js'],
      ['src/store/postgres/layer-probe.ts', '../../requests/requests.js'],
      ['src/log.ts', './leases/leases.js'],
      ['src/ops/metrics.ts', '../batches/batch.js'],
    ] as const) {
      expect(await refusals(`export * from '${specifier}';\n`, filePath), `${specifier} from ${filePath}`).toEqual([expect.stringContaining(says)]);
    }
  });

  it('lets the bottom import the bottom, and the middle import the middle', async () => {
    expect(await lint(`export type { VmSpec } from '../vmspec/schema.js';\nexport { hasCode } from '../errors.js';\n`, 'src/store/layer-probe.ts')).toEqual([]);
    expect(await lint(`export * from '../policy/index.js';\nexport * from '../provision/provisioner.js';\n`, 'src/requests/layer-probe.ts')).toEqual([]);
  });
});

describe('src/ does not import tests, benchmarks or the demo', () => {
  it('refuses them from the core and from the edges; tests may import anything', async () => {
    expect(await refusals(`export * from '../../test/helpers/core.js';\n`, 'src/slack/listeners/layer-probe.ts')).toEqual([
      expect.stringContaining('src/ must not import test or benchmark code'),
    ]);
    expect(await refusals(`export * from '../../bench/harness.js';\n`, 'src/store/postgres/layer-probe.ts')).toEqual([
      expect.stringContaining('src/ must not import test or benchmark code'),
    ]);
    expect(await refusals(`export { startWorkspace } from '../demo/workspace.js';\n`, 'src/cli/layer-probe.ts')).toEqual([
      expect.stringContaining('src/ must not import the demo'),
    ]);
    expect(await lint(`export * from '../../src/slack/bot.js';\nexport * from '../helpers/core.js';\n`, 'test/slack/layer-probe.ts')).toEqual([]);
  });
});
