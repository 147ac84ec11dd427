/** `vmbot policy check` and `vmbot policy explain` as a user runs them. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVmbot } from '../helpers/cli.js';
import { MANIFESTS, tempDir } from '../helpers/core.js';

describe('vmbot policy', () => {
  let dir: string;
  let remove: () => Promise<void>;
  let env: Record<string, string>;
  const example = join(MANIFESTS, 'policy.example.yml');
  beforeAll(async () => {
    ({ dir, remove } = await tempDir());
    env = { DATA_DIR: join(dir, 'data'), MANIFESTS_DIR: MANIFESTS, VM_APPROVERS: 'S0LEADS' };
  });
  afterAll(() => remove());

  it('check: exit 0 with a summary for a good file, exit 2 with file:line: field: message for a bad one', async () => {
    const good = await runVmbot(['policy', 'check', example], env);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/^ok {4}.*policy\.example\.yml \(sha256 [0-9a-f]{16}\): 8 rules, 3 groups, a per-user quota, 0 group quota\(s\)\n$/);
    const bad = join(dir, 'policy.yml');
    await writeFile(bad, 'version: 1\nrules:\n  - name: x\n    when: { clusters: ["1"] }\n    auto: true\n');
    const out = await runVmbot(['policy', 'check', bad], env);
    expect(out.code).toBe(2);
    expect(out.stderr).toBe(`${bad}:4: rules[0].when.clusters: unknown field (a typo? known fields are in manifests/policy.example.yml)\n`);
    const none = await runVmbot(['policy', 'check'], { ...env, MANIFESTS_DIR: dir + '/nowhere' });
    expect(none.stdout).toBe('No policy file: every request needs one approval from VM_APPROVERS, never the requester.\n');
  });

  it('explain: which rule matches, why the earlier ones did not, the approval needed and the quota after it', async () => {
    const out = await runVmbot(['policy', 'explain', 'iso-install', '--as', 'U0ALICE', '--group', 'S0LEADS', '--count', '12', '--file', example], env);
    expect(out.code).toBe(0);
    expect(out.stdout.split('\n')).toEqual([
      expect.stringMatching(/^Policy: .*policy\.example\.yml \(sha256 [0-9a-f]{16}\)$/),
      'Request: 12 × iso-install (explain-1 … explain-12): 2 vCPU, 4 GiB RAM, 2 drives (64 GiB new disk), 1 NIC each, by U0ALICE (in S0LEADS)',
      '  ✗ retired-cluster: cluster is 1, not 3',
      '  ✗ gpu-two-owners: no gpu/vgpu device',
      '  ✓ big-batches-two-leads: every condition holds',
      'Decision (rule big-batches-two-leads): needs 2 approvals from @leads (distinct people, never the requester)',
      'Quota (you): now 0 of 16 vCPU, 0 of 64 GiB RAM; after this 24 of 16 vCPU, 48 GiB of 64 GiB RAM — over: 24 of 16 vCPU',
      '',
    ]);
  });
});
