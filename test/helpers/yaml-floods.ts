/** YAML that aliases a lot: legitimately (one group named by every rule) and as an attack (billion laughs). */

/**
 * `levels` lines `xN: &xN [*x(N-1) × 9]` under a first line of nine scalars: 9^levels values from a
 * few hundred bytes. Refused at line `first + 4`: x0–x3 add 8,289 values through aliases, and the
 * sixth *x3 on x4's line crosses 50,000.
 */
export function laughs(levels = 9): string {
  let text = 'x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  for (let i = 1; i <= levels; i++)
    text += `x${i}: &x${i} [${Array<string>(9)
      .fill(`*x${i - 1}`)
      .join(', ')}]\n`;
  return text;
}

export const LAUGHS_MESSAGE =
  'too many aliases: counting this *x3, aliases stand for more than 50,000 values, the most allowed (so a "billion laughs" file cannot exhaust the bot); write some of them out';

/** `LINE: message` for a laughs() block starting at line `first`. */
export const laughsProblem = (first: number) => `${first + 4}: ${LAUGHS_MESSAGE}`;

/** A valid policy whose `rules` rules all say `from: *leads`; the first sends iso-install to the leads. */
export function aliasedPolicy(rules: number): string {
  const lines = ['version: 1', 'groups:', '  leads: &leads [U0LEAD1, U0LEAD2]', 'rules:', '  - name: iso-needs-lead', '    when: { recipe: [iso-install] }'];
  lines.push('    approve: { count: 1, from: *leads }');
  for (let i = 1; i < rules; i++) lines.push(`  - name: cluster-${i}`, `    when: { cluster: ["${1000 + i}"] }`, '    approve: { count: 1, from: *leads }');
  return `${lines.join('\n')}\n`;
}

/** A policy (valid up to line 4) with a billion laughs from line 5: refused at laughsProblem(5). */
export const laughsPolicy = (): string => `version: 1\ngroups:\n  leads: [U0LEAD1]\nrules: []\n${laughs()}`;

/** A recipe whose `drives` are `count` aliases of one drive. */
export function aliasedDrivesRecipe(count: number): string {
  const drives = ['drives:', '  - &d { media: disk, disksize: 1GiB, preferred_tier: "1" }', ...Array<string>(count - 1).fill('  - *d')];
  return `recipe: many-drives\ntitle: Many drives\nvm: { name: many-01, cluster: "1" }\n${drives.join('\n')}\n`;
}

/** A recipe (valid up to line 4) with a billion laughs from line 5. */
export const laughsRecipe = (): string => `recipe: laughs\ntitle: Laughs\nvm: { name: laughs-01, cluster: "1" }\ndrives: []\n${laughs()}`;

/** More than 1 MiB of valid YAML (a comment). */
export const oversize = (): string => `version: 1\n# ${'x'.repeat(1024 * 1024)}\n`;
