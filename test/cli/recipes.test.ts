/** `vmbot recipes`: the YAML recipes and VergeOS's own downloaded ones, in text and --json; without VergeOS, the YAML ones and why. */
import { describe, expect, it } from 'vitest';
import { useCliSim } from '../helpers/cli-sim.js';
import { runVmbot } from '../helpers/cli.js';
import { MANIFESTS } from '../helpers/core.js';

const YAML_RECIPES = ['cloud-image', 'enterprise-cloudinit', 'gpu-workstation', 'iso-install', 'web-server', 'windows-11'];

describe('vmbot recipes', () => {
  const cli = useCliSim();

  it('--json lists both sources: YAML by id and file, VergeOS by name, catalog, version and key (downloaded only)', async () => {
    const out = await runVmbot(['recipes', '--json'], cli.env);
    expect(out.code).toBe(0);
    const { recipes } = JSON.parse(out.stdout) as { recipes: Array<Record<string, string | null>> };
    expect(recipes.filter((r) => r.source === 'yaml').map((r) => r.name)).toEqual(YAML_RECIPES);
    expect(recipes.find((r) => r.name === 'web-server')).toEqual({
      source: 'yaml',
      name: 'web-server',
      title: 'Web server',
      catalog: null,
      version: null,
      ref: `${MANIFESTS}web-server.yml`,
    });
    const vergeos = recipes.filter((r) => r.source === 'vergeos');
    expect(vergeos.map((r) => [r.name, r.catalog, r.version])).toEqual([
      ['Debian 12 Minimal', 'Lab Catalog', '0.9, build 1'],
      ['Ubuntu Server 24.04', 'Local Catalog', '1.4, build 7'],
      ['Windows Server 2022', 'Local Catalog', '2.0, build 3'],
    ]);
    for (const r of vergeos) expect(r.ref).toMatch(/^[0-9a-f]{40}$/);
    // Rocky Linux 9 is not downloaded: it cannot be deployed, so it is not offered.
    expect(out.stdout).not.toContain('Rocky');
    expect(cli.sim.requestsTo('GET /vm_recipes').at(-1)?.query.filter).toContain('downloaded eq');
  });

  it('VERGEOS_RECIPE_CATALOGS keeps only those catalogs; the text listing is a table', async () => {
    const out = await runVmbot(['recipes'], { ...cli.env, VERGEOS_RECIPE_CATALOGS: 'Local Catalog' });
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SOURCE\s+NAME\s+CATALOG\s+VERSION\s+TITLE$/);
    expect(lines.filter((l) => l.startsWith('vergeos')).map((l) => l.split(/\s{2,}/).slice(1, 3))).toEqual([
      ['Ubuntu Server 24.04', 'Local Catalog'],
      ['Windows Server 2022', 'Local Catalog'],
    ]);
    expect(lines.filter((l) => l.startsWith('yaml'))).toHaveLength(YAML_RECIPES.length);
  });

  it('without VERGEOS_URL lists the YAML recipes and says why the others are missing (exit 0); VergeOS failing is exit 1 with its words', async () => {
    const offline = Object.fromEntries(Object.entries(cli.env).filter(([name]) => !name.startsWith('VERGEOS_')));
    const out = await runVmbot(['recipes', '--json'], offline);
    expect(out.code).toBe(0);
    expect((JSON.parse(out.stdout) as { recipes: unknown[] }).recipes).toHaveLength(YAML_RECIPES.length);
    expect(out.stderr).toContain("VERGEOS_URL is not set: only the YAML recipes are listed (VergeOS's own recipes come from it).");

    cli.sim.faults.add({ route: 'GET /vm_recipes', status: 401, body: { err: 'Invalid credentials' } });
    try {
      const failed = await runVmbot(['recipes'], cli.env);
      expect(failed.code).toBe(1);
      expect(failed.stdout.split('\n').filter((l) => l.startsWith('yaml'))).toHaveLength(YAML_RECIPES.length);
      expect(failed.stderr).toMatch(/VergeOS's recipes are not listed: .*(credentials|401)/i);
    } finally {
      cli.sim.faults.clear();
    }
  });
});
