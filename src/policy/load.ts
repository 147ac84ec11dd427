/**
 * Reading the policy file: YAML through the one schema, every problem as `file:line: field:
 * message`, and the file's SHA-256 (decisions record which policy they were made under). No file
 * is today's behaviour: one approval from VM_APPROVERS, never the requester.
 */
import { createHash } from 'node:crypto';
import { isNode, type Document, type LineCounter } from 'yaml';
import { formatPath } from '../vmspec/validate.js';
import { parseYamlInput, readYamlFile, type YamlProblem } from '../vmspec/yaml-input.js';
import { policySchema, type Policy } from './schema.js';

export interface LoadedPolicy {
  policy: Policy;
  /** Where it came from; undefined for the built-in default. */
  file: string | undefined;
  /** SHA-256 of the file's bytes (`builtin` for the default), first 16 hex digits. */
  hash: string;
}

export type PolicyLoad = { ok: true; loaded: LoadedPolicy } | { ok: false; errors: string[] };

export function builtinPolicy(): LoadedPolicy {
  return { policy: policySchema.parse({ version: 1 }), file: undefined, hash: 'builtin' };
}

/** The line of the node at `path`, or of the nearest parent that exists. */
function lineOf(doc: Document, counter: LineCounter, path: ReadonlyArray<PropertyKey>): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** A YAML problem (syntax, size, aliases) as `file:line: message`; the whole file is line 1. */
function yamlError(file: string, problem: YamlProblem): string {
  return problem.line === undefined ? `${file}:1: (file): ${problem.message}` : `${file}:${problem.line}: ${problem.message}`;
}

export function parsePolicyText(text: string, file: string): PolicyLoad {
  const input = parseYamlInput(text);
  if (!input.ok) return { ok: false, errors: [yamlError(file, input.problem)] };
  const { doc, lineCounter: counter } = input;
  const parsed = policySchema.safeParse(input.data ?? {});
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => {
        const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
        const message = issue.code === 'unrecognized_keys' ? `unknown field (a typo? known fields are in manifests/policy.example.yml)` : issue.message;
        return `${file}:${lineOf(doc, counter, issue.path) ?? 1}: ${formatPath(path)}: ${message}`;
      }),
    };
  }
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  return { ok: true, loaded: { policy: parsed.data, file, hash } };
}

/** The policy in `file`; a missing file is the built-in default only when `optional`. */
export async function loadPolicyFile(file: string, options: { optional?: boolean } = {}): Promise<PolicyLoad> {
  const read = await readYamlFile(file);
  if (!read.ok) {
    if (read.problem.errno === 'ENOENT' && options.optional) return { ok: true, loaded: builtinPolicy() };
    return { ok: false, errors: [yamlError(file, read.problem)] };
  }
  return parsePolicyText(read.text, file);
}
