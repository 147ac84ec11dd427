/**
 * Rewrites chosen scalars and comments of a parsed YAML text in place, so every other byte stays
 * as written (order, comments, indentation, quoting). The result is checked to parse to exactly
 * what the Document says it should; if splicing cannot keep that promise, the Document is
 * printed with toString instead (still valid YAML of the same shape, formatting normalized).
 */
import { isDeepStrictEqual } from 'node:util';
import { CST, Lexer, parse, Scalar, visit, type Document } from 'yaml';
import { parseYamlInput, yamlData } from '../vmspec/yaml-input.js';

export interface ScalarEdit {
  node: Scalar;
  value: string;
  /** Inside a flow collection (`[a, b]`, `{k: v}`), where `,[]{}` end a plain scalar. */
  inFlow: boolean;
}

/**
 * The text as a YAML document, or undefined when it has errors — or aliases or nesting past the
 * bounds of yaml-input (a "billion laughs" user-data would otherwise make the deep comparison
 * below take hours); callers then treat it as text that does not parse (masked line by line).
 */
export function parseYaml(text: string): Document.Parsed | undefined {
  const parsed = parseYamlInput(text, { logLevel: 'silent' });
  return parsed.ok ? parsed.doc : undefined;
}

/** Every comment (`# …`) with its offset; `#` inside scalars (block scalars included) is not one. */
export function commentsOf(text: string): Array<{ offset: number; text: string }> {
  const out: Array<{ offset: number; text: string }> = [];
  let offset = 0;
  let scalarNext = false;
  for (const token of new Lexer().lex(text)) {
    // Control tokens mark structure and take no room in the source.
    if (token === CST.SCALAR) {
      scalarNext = true;
      continue;
    }
    if (token === CST.DOCUMENT || token === CST.FLOW_END) continue;
    if (!scalarNext && token.startsWith('#')) out.push({ offset, text: token });
    scalarNext = false;
    offset += token.length;
  }
  return out;
}

/** Whether `value` reads back as the same string when written plain (in YAML 1.2 and 1.1 alike). */
function plainSafe(value: string, inFlow: boolean): boolean {
  if (value === '' || value !== value.trim() || /[\n\r\t]/.test(value) || (inFlow && /[,[\]{}]/.test(value))) return false;
  try {
    return parse(value, { logLevel: 'silent' }) === value && parse(value, { logLevel: 'silent', version: '1.1' }) === value;
  } catch {
    return false;
  }
}

/** A literal block scalar with only some lines changed: those lines replaced, at the block's indentation. */
function literalLines(source: string, oldValue: string, newValue: string): string | undefined {
  const nl = source.indexOf('\n');
  if (nl < 0) return undefined;
  const body = source.slice(nl + 1).split('\n');
  const oldLines = oldValue.split('\n');
  const newLines = newValue.split('\n');
  if (oldLines.length !== newLines.length) return undefined;
  const indent = /^ */.exec(body.find((l) => l.trim() !== '') ?? '')![0];
  for (let i = 0; i < newLines.length; i++) {
    if (newLines[i] === oldLines[i]) continue;
    if (body[i] !== indent + oldLines[i]) return undefined;
    body[i] = indent + newLines[i]!;
  }
  return `${source.slice(0, nl + 1)}${body.join('\n')}`;
}

/** The scalar written in its old style where that reads back right, else double-quoted (JSON is valid YAML there). */
function renderScalar(source: string, edit: ScalarEdit): string {
  const { node, value, inFlow } = edit;
  const quoted = JSON.stringify(value);
  switch (node.type) {
    case Scalar.BLOCK_LITERAL:
      return literalLines(source, String(node.value), value) ?? `${quoted}${source.endsWith('\n') ? '\n' : ''}`;
    case Scalar.BLOCK_FOLDED:
      return `${quoted}${source.endsWith('\n') ? '\n' : ''}`;
    case Scalar.PLAIN:
      return plainSafe(value, inFlow) ? value : quoted;
    case Scalar.QUOTE_SINGLE:
      return value.includes('\n') ? quoted : `'${value.replace(/'/g, "''")}'`;
    default:
      return quoted;
  }
}

function splice(text: string, edits: readonly ScalarEdit[], comment: (text: string) => string): string | undefined {
  const parts: Array<{ start: number; end: number; text: string }> = [];
  for (const edit of edits) {
    const [start, end] = edit.node.range ?? [];
    if (start === undefined || end === undefined) return undefined;
    parts.push({ start, end, text: renderScalar(text.slice(start, end), edit) });
  }
  for (const c of commentsOf(text)) {
    if (!text.startsWith(c.text, c.offset)) return undefined;
    const next = comment(c.text);
    if (next !== c.text) parts.push({ start: c.offset, end: c.offset + c.text.length, text: next });
  }
  parts.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const p of parts) {
    if (p.start < at) return undefined;
    out += text.slice(at, p.start) + p.text;
    at = p.end;
  }
  return out + text.slice(at);
}

/** Comments as the Document keeps them (lines without their `#`), rewritten the same way. */
function rewriteDocComments(doc: Document, comment: (text: string) => string): void {
  const fix = (c: string | null | undefined) =>
    c
      ?.split('\n')
      .map((line) => comment(`#${line}`).slice(1))
      .join('\n');
  doc.commentBefore = fix(doc.commentBefore) ?? null;
  doc.comment = fix(doc.comment) ?? null;
  visit(doc, {
    Node(_key, node) {
      if (node.commentBefore) node.commentBefore = fix(node.commentBefore) ?? null;
      if (node.comment) node.comment = fix(node.comment) ?? null;
    },
  });
}

/**
 * `doc` (parsed from `text`) with the edits' scalar values and every comment rewritten by
 * `comment`. The Document is changed to the new values.
 */
export function rewriteYaml(text: string, doc: Document.Parsed, edits: readonly ScalarEdit[], comment: (text: string) => string): string {
  const spliced = splice(text, edits, comment);
  for (const edit of edits) edit.node.value = edit.value;
  const expected = yamlData(doc);
  const again = spliced === undefined ? undefined : parseYamlInput(spliced, { logLevel: 'silent' });
  if (again?.ok && isDeepStrictEqual(again.data, expected)) return spliced!;
  rewriteDocComments(doc, comment);
  return doc.toString({ lineWidth: 0 });
}
