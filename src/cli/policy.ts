import { join } from 'node:path';
import { summarizeSpec } from '../plan/render.js';
import type { Decision } from '../policy/evaluate.js';
import { loadPolicyFile, type LoadedPolicy } from '../policy/load.js';
import { describeFrom, type Membership } from '../policy/members.js';
import { peopleByPolicy } from '../compose.js';
import { decide, heldNow, type Decided } from '../workflows/decide.js';
import { heldVmsIn } from '../policy/quota.js';
import { loadRecipes, recipeLease } from '../vmspec/recipes.js';
import { openStore } from '../store/open.js';
import { formatDuration } from '../vmspec/units.js';
import { VergeosClient } from '../vergeos/client.js';
import type { ResourceGroup } from '../vergeos/types.js';
import { vergeosClientOptions } from '../config.js';
import { CliExit, config, EXIT } from './context.js';
import { specsFromRecipe } from './recipe-input.js';
import { manifestFiles } from './validate.js';

/** The policy file in force: POLICY_FILE, else MANIFESTS_DIR/policy.yml (absent: the built-in default). */
export async function policyInForce(file?: string): Promise<LoadedPolicy> {
  const env = config([]);
  const path = file ?? env.POLICY_FILE ?? join(env.MANIFESTS_DIR, 'policy.yml');
  const loaded = await loadPolicyFile(path, { optional: file === undefined && env.POLICY_FILE === undefined });
  if (!loaded.ok) throw new CliExit(EXIT.badInput, loaded.errors.join('\n'));
  return loaded.loaded;
}

export function describeDecision(decision: Decision, vmApprovers: readonly string[]): string {
  if (decision.kind === 'auto') return 'approved automatically, no click needed';
  if (decision.kind === 'deny') return `refused: ${decision.reason}`;
  return `needs ${decision.count} approval${decision.count === 1 ? '' : 's'} from ${describeFrom(decision.from, vmApprovers)} (distinct people, never the requester)`;
}

export async function checkCommand(file: string | undefined): Promise<void> {
  const loaded = await policyInForce(file);
  const p = loaded.policy;
  process.stdout.write(
    loaded.file
      ? `ok    ${loaded.file} (sha256 ${loaded.hash}): ${p.rules.length} rule${p.rules.length === 1 ? '' : 's'}, ${Object.keys(p.groups).length} group${Object.keys(p.groups).length === 1 ? '' : 's'}, ${p.quotas.per_user ? 'a per-user quota' : 'no per-user quota'}, ${Object.keys(p.quotas.groups).length} group quota(s)\n`
      : 'No policy file: every request needs one approval from VM_APPROVERS, never the requester.\n',
  );
}

export async function explainCommand(recipeArg: string, opts: { as: string; group: string[]; count: number; name: string; file?: string }): Promise<void> {
  const env = config([]);
  const loaded = await policyInForce(opts.file);
  const recipeFile = /\.ya?ml$/.test(recipeArg)
    ? recipeArg
    : (await loadRecipes(await manifestFiles(env.MANIFESTS_DIR))).recipes.find((r) => r.id === recipeArg)?.file;
  if (!recipeFile) throw new CliExit(EXIT.badInput, `no recipe ${recipeArg} in ${env.MANIFESTS_DIR}`);
  const { recipe, specs } = await specsFromRecipe(recipeFile, opts.name, opts.count);
  const who: Membership = { user: opts.as, slackGroups: new Set(opts.group), vmApprovers: env.VM_APPROVERS };
  // Device kinds come from VergeOS when it is configured.
  let groups: ResourceGroup[] = [];
  let note = '';
  if (specs.some((s) => s.devices.some((d) => d.type === undefined))) {
    if (env.VERGEOS_URL) {
      const vergeos = new VergeosClient(vergeosClientOptions(config(['vergeos'])));
      try {
        groups = await vergeos.listResourceGroups();
      } finally {
        await vergeos.close();
      }
    } else {
      note = '\n(Without VERGEOS_URL the kinds of devices given without a type are unknown, so rules on devices do not match them.)';
    }
  }
  // The decision the bot would make: the same workflow, on what the store holds now (approved
  // requests not yet built included). Offline, a group's members are those named in the policy.
  const store = await openStore(env, { readOnly: true }).catch(() => undefined);
  const people = await peopleByPolicy(env.VM_APPROVERS)(loaded, opts.as);
  const lease = recipeLease(recipe);
  let decided: Decided;
  try {
    decided = decide(store ? heldNow(store) : heldVmsIn([]), loaded, { ...people, who }, { requester: opts.as, recipe, specs, lease, resourceGroups: groups });
  } finally {
    await store?.close();
  }
  const { evaluation } = decided;
  const lines = [
    `Policy: ${loaded.file ? `${loaded.file} (sha256 ${loaded.hash})` : 'built-in default'}`,
    `Request: ${specs.length} × ${recipe.id} (${specs[0]!.vm.name}${specs.length > 1 ? ` … ${specs.at(-1)!.vm.name}` : ''}): ${summarizeSpec(specs[0]!)}${specs.length > 1 ? ' each' : ''}, by ${opts.as}${opts.group.length ? ` (in ${opts.group.join(', ')})` : ''}`,
    ...evaluation.trace.map((t) => `  ${t.matched ? '✓' : '✗'} ${t.rule}: ${t.why}`),
    `Decision (rule ${evaluation.rule}): ${describeDecision(evaluation.decision, env.VM_APPROVERS)}`,
    ...(evaluation.leaseMaxMs ? [`Lease: at most ${formatDuration(evaluation.leaseMaxMs)} (not "until deleted")`] : []),
    ...evaluation.quota.map((q) => `Quota (${q.who}): now ${q.before}; after this ${q.after}${q.over.length ? ` — over: ${q.over.join(', ')}` : ''}`),
    ...(decided.kind === 'decided' ? decided.warnings.map((w) => `Warning: ${w}`) : []),
    ...(decided.kind === 'refused' ? [`Refused as asked: ${decided.error.message}`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}${note}\n`);
}
