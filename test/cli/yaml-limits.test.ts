/** `vmbot policy check`, `validate`, `plan` and `start` on YAML that aliases a lot, is broken or too big: exit 0 or 2, never a crash. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLACK_SIM_BOT_TOKEN, SLACK_SIM_SIGNING_SECRET } from '../../src/sim/slack-constants.js';
import { runVmbot } from '../helpers/cli.js';
import { tempDir } from '../helpers/core.js';
import { aliasedDrivesRecipe, aliasedPolicy, laughsPolicy, laughsProblem, laughsRecipe, oversize } from '../helpers/yaml-floods.js';

const TOO_LARGE = `the file is larger than 1 MiB (${oversize().length.toLocaleString('en-US')} bytes), the most read; hand-written YAML is a few KB`;

describe('YAML input on the command line', () => {
  let dir: string;
  let remove: () => Promise<void>;
  let env: Record<string, string>;
  const file = (name: string) => join(dir, name);
  beforeAll(async () => {
    ({ dir, remove } = await tempDir());
    env = { DATA_DIR: join(dir, 'data'), MANIFESTS_DIR: join(dir, 'empty'), VM_APPROVERS: 'S0LEADS' };
    await mkdir(join(dir, 'empty'));
    await Promise.all([
      writeFile(file('policy-120.yml'), aliasedPolicy(120)),
      writeFile(file('policy-laughs.yml'), laughsPolicy()),
      writeFile(file('policy-broken.yml'), 'version: 1\nrules:\n  - name: [x\n'),
      writeFile(file('big.yml'), oversize()),
      writeFile(file('drives-120.yml'), aliasedDrivesRecipe(120)),
      writeFile(file('drives-30.yml'), aliasedDrivesRecipe(30)),
      writeFile(file('recipe-laughs.yml'), laughsRecipe()),
      writeFile(file('recipe-broken.yml'), 'recipe: broken\ntitle: [Broken\n'),
    ]);
  });
  afterAll(() => remove());

  it('policy check: 120 rules naming one group by alias pass (exit 0); a billion laughs, broken YAML and 1 MiB+ are file:line (exit 2)', async () => {
    const [many, flood, broken, big] = await Promise.all(
      ['policy-120.yml', 'policy-laughs.yml', 'policy-broken.yml', 'big.yml'].map((f) => runVmbot(['policy', 'check', file(f)], env)),
    );
    expect([many!.code, many!.stdout]).toEqual([0, expect.stringMatching(/: 120 rules, 1 group, no per-user quota, 0 group quota\(s\)\n$/)]);
    expect([flood!.code, flood!.stderr]).toEqual([2, `${file('policy-laughs.yml')}:${laughsProblem(5)}\n`]);
    expect([broken!.code, broken!.stderr]).toEqual([2, expect.stringMatching(new RegExp(`^${esc(file('policy-broken.yml'))}:4: not valid YAML: .+\\n$`))]);
    expect([big!.code, big!.stderr]).toEqual([2, `${file('big.yml')}:1: (file): ${TOO_LARGE}\n`]);
  }, 120_000);

  it('validate and plan: aliased drives pass up to the drive limit; a billion laughs, broken YAML and 1 MiB+ are bad input (exit 2)', async () => {
    const cases: Array<[string, string]> = [
      ['drives-120.yml', `${file('drives-120.yml')}:drives: at most 32 drives`],
      ['recipe-laughs.yml', `${file('recipe-laughs.yml')}:line ${laughsProblem(5)}`],
      ['big.yml', `${file('big.yml')}:(file): ${TOO_LARGE}`],
      [
        'recipe-broken.yml',
        `${file('recipe-broken.yml')}:line 3: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
      ],
    ];
    const validate = await runVmbot(['validate', file('drives-30.yml'), ...cases.map(([f]) => file(f))], env);
    expect([validate.code, validate.stdout, validate.stderr]).toEqual([
      2,
      `ok    ${file('drives-30.yml')} (many-drives: Many drives)\n`,
      `${cases.map(([, message]) => message).join('\n')}\n`,
    ]);
    const plans = await Promise.all(['drives-30.yml', ...cases.map(([f]) => f)].map((f) => runVmbot(['plan', file(f)], env)));
    expect(plans.map((r) => [r.code, r.stderr])).toEqual([[0, ''], ...cases.map(([, message]) => [2, `${message}\n`])]);
    expect(plans[0]!.stdout).toMatch(/^Plan for VM many-01 \(31 steps\)\n/);
    const nowhere = await runVmbot(['validate'], { ...env, MANIFESTS_DIR: file('nowhere') });
    expect([nowhere.code, nowhere.stderr]).toEqual([2, `${file('nowhere')}: cannot read the recipes folder (MANIFESTS_DIR) (ENOENT)\n`]);
  }, 120_000); // seven processes: slow on a busy machine

  it('start with a billion-laughs policy or recipe says why and exits 2, before connecting anywhere', async () => {
    const startEnv = {
      ...env,
      SLACK_BOT_TOKEN: SLACK_SIM_BOT_TOKEN,
      SLACK_SIGNING_SECRET: SLACK_SIM_SIGNING_SECRET,
      VM_APPROVAL_CHANNEL: 'C0APPROVALS',
      VM_AUDIT_CHANNEL: 'C0AUDIT',
      // Nothing listens there: start must stop before it would call.
      VERGEOS_URL: 'http://127.0.0.1:9',
      VERGEOS_API_KEY: 'unused',
      PORT: '0',
    };
    const recipes = file('recipes-laughs');
    await mkdir(recipes);
    await writeFile(join(recipes, 'laughs.yml'), laughsRecipe());
    const [policy, recipe] = await Promise.all([
      runVmbot(['start'], { ...startEnv, POLICY_FILE: file('policy-laughs.yml') }),
      runVmbot(['start'], { ...startEnv, MANIFESTS_DIR: recipes }),
    ]);
    expect([policy.code, policy.stderr]).toEqual([2, `The approval policy does not validate:\n${file('policy-laughs.yml')}:${laughsProblem(5)}\n`]);
    expect([recipe.code, recipe.stderr]).toEqual([2, `${join(recipes, 'laughs.yml')}:line ${laughsProblem(5)}\n`]);
  }, 120_000);
});

function esc(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
