/**
 * YAML written by people (recipes, the approval policy, cloud-init user-data), bounded before
 * anything walks it: a file size, and what aliases may stand for.
 *
 * Aliases: the yaml library's own guard (`maxAliasCount`, default 100) refuses a policy whose
 * 120 rules say `from: *leads` — ordinary YAML — and throws without a line. Instead every alias
 * is counted here by what it really stands for (the values of its anchor, aliases inside it
 * included), and a document is refused, naming the line of the alias that crosses the bound,
 * once aliases add more than YAML_MAX_ALIASED_VALUES values. That is tens of times what a
 * policy of a few hundred rules sharing groups needs, and fewer values than a 1 MiB file can
 * hold written out, so nothing walking the data (zod, deep equality) has more to do than for a
 * file of the largest size accepted; a "billion laughs" document is refused at its first lines.
 * The data is then built from a copy with each alias replaced by the node it names: the
 * library resolves an alias by scanning the document up to it (10,000 aliases took seconds).
 */
import { open } from 'node:fs/promises';
import { isAlias, isCollection, isNode, isPair, LineCounter, parseDocument, type Document, type DocumentOptions, type ParseOptions } from 'yaml';

/** The largest YAML file read (recipes and the policy are written by hand: a few KB). */
export const YAML_MAX_BYTES = 1024 * 1024;
/** The most values aliases may add to a document, over all its aliases. */
export const YAML_MAX_ALIASED_VALUES = 50_000;
/** The deepest nesting accepted (aliases counted as what they stand for); recipes need about 5. */
export const YAML_MAX_DEPTH = 64;

export type YamlProblemCode =
  'YAML_UNREADABLE' | 'YAML_TOO_LARGE' | 'YAML_SYNTAX' | 'YAML_ALIAS_FLOOD' | 'YAML_ALIAS_CYCLE' | 'YAML_ALIAS_UNKNOWN' | 'YAML_TOO_DEEP';

export interface YamlProblem {
  code: YamlProblemCode;
  /** The line to look at (from 1); undefined for the file as a whole. */
  line: number | undefined;
  message: string;
  /** For YAML_UNREADABLE: the system's code (ENOENT, EACCES…). */
  errno?: string;
}

export type YamlFileText = { ok: true; text: string } | { ok: false; problem: YamlProblem };
export type YamlInput = { ok: true; doc: Document.Parsed; lineCounter: LineCounter; data: unknown } | { ok: false; problem: YamlProblem };

function tooLarge(bytes: number | undefined, max: number): YamlProblem {
  const limit = max % (1024 * 1024) === 0 ? `${max / 1024 / 1024} MiB` : `${max.toLocaleString('en-US')} bytes`;
  const size = bytes === undefined ? '' : ` (${bytes.toLocaleString('en-US')} bytes)`;
  return { code: 'YAML_TOO_LARGE', line: undefined, message: `the file is larger than ${limit}${size}, the most read; hand-written YAML is a few KB` };
}

/** The file's text, refusing one over `maxBytes` without reading it all (a pipe or device included). */
export async function readYamlFile(file: string, maxBytes = YAML_MAX_BYTES): Promise<YamlFileText> {
  const unreadable = (err: unknown): YamlFileText => {
    const errno = (err as NodeJS.ErrnoException).code ?? 'error';
    return { ok: false, problem: { code: 'YAML_UNREADABLE', line: undefined, message: `cannot read it (${errno})`, errno } };
  };
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    return unreadable(err);
  }
  try {
    const stat = await handle.stat();
    if (stat.isFile() && stat.size > maxBytes) return { ok: false, problem: tooLarge(stat.size, maxBytes) };
    // One byte more than allowed tells a file that grew (or a stream) from one that fits.
    const buffer = Buffer.alloc(maxBytes + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled > maxBytes) return { ok: false, problem: tooLarge(undefined, maxBytes) };
    }
    return { ok: true, text: buffer.toString('utf8', 0, filled) };
  } catch (err) {
    return unreadable(err);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The library's message without the position it repeats (the line is reported on its own). */
function syntaxMessage(message: string): string {
  return `not valid YAML: ${message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
}

/** Counts what every alias stands for, in document order (an alias names the last anchor before it). */
function aliasProblem(doc: Document, lineCounter: LineCounter, maxAliased: number): YamlProblem | undefined {
  const anchors = new Map<string, unknown>();
  const measured = new Map<unknown, { size: number; height: number }>();
  const inProgress = new Set<unknown>();
  const lineOf = (node: unknown) => (isNode(node) && node.range ? lineCounter.linePos(node.range[0]).line : undefined);
  let aliased = 0;
  let problem: YamlProblem | undefined;

  const measure = (node: unknown, depth: number): { size: number; height: number } => {
    const none = { size: 0, height: 0 };
    if (problem || !isNode(node)) return none;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      const at = lineOf(node);
      if (target === undefined) {
        problem = { code: 'YAML_ALIAS_UNKNOWN', line: at, message: `*${node.source} names no anchor: write &${node.source} on a value before it` };
        return none;
      }
      if (inProgress.has(target)) {
        problem = { code: 'YAML_ALIAS_CYCLE', line: at, message: `*${node.source} is inside the value it names (&${node.source}), so it would never end` };
        return none;
      }
      const m = measured.get(target)!;
      aliased += m.size;
      if (aliased > maxAliased)
        problem = {
          code: 'YAML_ALIAS_FLOOD',
          line: at,
          message: `too many aliases: counting this *${node.source}, aliases stand for more than ${maxAliased.toLocaleString('en-US')} values, the most allowed (so a "billion laughs" file cannot exhaust the bot); write some of them out`,
        };
      else if (depth + m.height - 1 > YAML_MAX_DEPTH)
        problem = { code: 'YAML_TOO_DEEP', line: at, message: `nested more than ${YAML_MAX_DEPTH} levels deep (counting what *${node.source} stands for)` };
      return m;
    }
    if (depth > YAML_MAX_DEPTH) {
      problem = { code: 'YAML_TOO_DEEP', line: lineOf(node), message: `nested more than ${YAML_MAX_DEPTH} levels deep` };
      return none;
    }
    if (node.anchor) anchors.set(node.anchor, node);
    inProgress.add(node);
    let size = 1;
    let below = 0;
    if (isCollection(node)) {
      for (const item of node.items) {
        for (const part of isPair(item) ? [item.key, item.value] : [item]) {
          const m = measure(part, depth + 1);
          size += m.size;
          below = Math.max(below, m.height);
        }
      }
    }
    inProgress.delete(node);
    const result = { size, height: below + 1 };
    measured.set(node, result);
    return result;
  };
  measure(doc.contents, 1);
  return problem;
}

/**
 * The data of a document that passed the alias bound: each alias in a copy replaced by the node
 * it names (the last anchor of that name before it), so building it is linear in what it holds.
 */
export function yamlData(doc: Document): unknown {
  const copy = doc.clone();
  const anchors = new Map<string, unknown>();
  const resolve = (node: unknown): unknown => {
    if (isAlias(node)) return anchors.get(node.source) ?? node;
    if (!isNode(node)) return node;
    if (node.anchor) anchors.set(node.anchor, node);
    if (isCollection(node)) {
      node.items = node.items.map((item) => {
        if (!isPair(item)) return resolve(item);
        item.key = resolve(item.key);
        item.value = resolve(item.value);
        return item;
      });
    }
    return node;
  };
  copy.contents = resolve(copy.contents) as typeof copy.contents;
  return copy.toJS({ maxAliasCount: -1 });
}

/**
 * `text` as YAML, with its data, or the first problem and its line. Never throws: a document the
 * library cannot build (a bug, an exhausted stack) is a problem like any other.
 */
export function parseYamlInput(text: string, options: ParseOptions & DocumentOptions & { maxBytes?: number; maxAliasedValues?: number } = {}): YamlInput {
  const { maxBytes = YAML_MAX_BYTES, maxAliasedValues = YAML_MAX_ALIASED_VALUES, ...yamlOptions } = options;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) return { ok: false, problem: tooLarge(bytes, maxBytes) };
  const lineCounter = new LineCounter();
  try {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, ...yamlOptions, lineCounter });
    if (doc.errors.length) {
      // The first YAML error is the one to fix; later ones usually follow from it.
      const first = doc.errors[0]!;
      return { ok: false, problem: { code: 'YAML_SYNTAX', line: first.linePos?.[0]?.line, message: syntaxMessage(first.message) } };
    }
    const problem = aliasProblem(doc, lineCounter, maxAliasedValues);
    if (problem) return { ok: false, problem };
    return { ok: true, doc, lineCounter, data: yamlData(doc) };
  } catch (err) {
    return { ok: false, problem: { code: 'YAML_SYNTAX', line: undefined, message: syntaxMessage((err as Error).message) } };
  }
}
