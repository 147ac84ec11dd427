/**
 * Cloud-init user-data with its secrets masked, for people to read (`vmbot plan --json`, the
 * request form, the lead's approval). A cloud-config is parsed and only secret values are
 * replaced, in place: passwords and hashes (`passwd`, `hashed_passwd`, `plain_text_passwd`,
 * `password`), chpasswd's `list` and `users`, tokens and API keys, private keys, and the parts of
 * runcmd/bootcmd commands that set passwords or send tokens. Switches such as `lock_passwd: false`
 * and public keys stay. The result is valid YAML of the same shape. A shell script is masked line
 * by line; text that does not parse gets a conservative line mask.
 */
import { isMap, isPair, isScalar, isSeq, visit, type Document, type Scalar } from 'yaml';
import {
  commandSecrets,
  commentSecretSpans,
  isSecretKey,
  looseLineSpans,
  mergeSpans,
  normalizeKey,
  occurrenceSpans,
  passwordEntrySpans,
  replaceSpans,
  textSecretSpans,
  type Span,
} from './secret-text.js';
import { commentsOf, parseYaml, rewriteYaml, type ScalarEdit } from './yaml-splice.js';

export const SECRET_MASK = '***';

export interface MaskOptions {
  /** What stands for the secret numbered `index` (from 0, in the order met); `***` by default. */
  marker?: (index: number) => string;
  /** Values to hide wherever they appear (a recipe's secrets, when showing an edited copy of it). */
  alsoHide?: readonly string[];
}

export interface MaskedText {
  text: string;
  /** The distinct secrets, by marker index: what unmaskCloudInit puts back. */
  secrets: string[];
}

/** Numbers distinct secrets in the order met and gives each its marker. */
class SecretList {
  readonly values: string[] = [];
  constructor(private readonly marker: (index: number) => string) {}
  markerFor = (secret: string): string => {
    let index = this.values.indexOf(secret);
    if (index < 0) index = this.values.push(secret) - 1;
    return this.marker(index);
  };
}

/** Words that name cloud-init's "generate one" rather than a secret; never hidden elsewhere. */
const NOT_WORTH_HIDING = /^(?:R|RANDOM)$/;

type Kind = 'cloud-config' | 'script' | 'other';

function kindOf(text: string): Kind {
  const head = text.trimStart();
  if (/^(?:#!|#cloud-boothook)/.test(head)) return 'script';
  if (/^(?:#include|#part-handler|#upstart-job|#cloud-config-archive|content-type:|mime-version:)/i.test(head)) return 'other';
  return 'cloud-config';
}

/** The keys from the document's root down to a node: `['users', 'passwd']`. */
function keysOf(path: readonly unknown[]): string[] {
  return path.filter(isPair).map((p) => (isScalar(p.key) ? String(p.key.value) : ''));
}

const inFlowOf = (path: readonly unknown[]): boolean => path.some((n) => (isMap(n) || isSeq(n)) && n.flow === true);

/** A runcmd/bootcmd entry in list form (`[usermod, -p, HASH, root]`): its secret words. */
function argvSecrets(doc: Document): Map<unknown, 'whole' | 'entry'> {
  const out = new Map<unknown, 'whole' | 'entry'>();
  visit(doc, {
    Seq(_key, seq, path) {
      const command = ['runcmd', 'bootcmd'].includes(normalizeKey(keysOf(path).at(-1) ?? ''));
      if (!command || !isSeq(path.at(-1)) || !seq.items.every(isScalar)) return;
      for (const { index, part } of commandSecrets(seq.items.map((i) => String(i.value)))) out.set(seq.items[index], part);
    },
  });
  return out;
}

interface Candidate {
  node: Scalar;
  inFlow: boolean;
  /** The value as text (a number's source, for a numeric password). */
  text: string;
  isString: boolean;
  spans: Span[];
}

/** Where the secrets of one scalar are, by what its keys say it holds. */
function scalarSpans(keys: string[], text: string, isString: boolean, argv: 'whole' | 'entry' | undefined): Span[] {
  if (keys.some(isSecretKey) || argv === 'whole') return [{ start: 0, end: text.length }];
  if (!isString) return [];
  const names = keys.slice(-2).map(normalizeKey);
  if (argv === 'entry' || (names[0] === 'chpasswd' && names[1] === 'list')) return passwordEntrySpans(text);
  return textSecretSpans(text);
}

function maskDocument(text: string, doc: Document.Parsed, secrets: SecretList, alsoHide: readonly string[]): string {
  const argv = argvSecrets(doc);
  const candidates: Candidate[] = [];
  visit(doc, {
    Scalar(key, node, path) {
      const value: unknown = node.value;
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint') return;
      const isString = typeof value === 'string';
      const asText = isString ? value : (node.source ?? String(value));
      // A key is only read as text: a runcmd line with an unquoted `: ` turns into a mapping.
      const spans = key === 'key' ? (isString ? textSecretSpans(asText) : []) : scalarSpans(keysOf(path), asText, isString, argv.get(node));
      candidates.push({ node, inFlow: inFlowOf(path), text: asText, isString, spans });
    },
  });
  // Whatever was found once is hidden everywhere else too (the same password in a script, a comment).
  const known = new Set(alsoHide);
  const learn = (t: string, spans: Span[]) => mergeSpans(spans).forEach((s) => known.add(t.slice(s.start, s.end)));
  for (const c of candidates) learn(c.text, c.spans);
  for (const c of commentsOf(text)) learn(c.text, commentSecretSpans(c.text));
  for (const k of known) if (NOT_WORTH_HIDING.test(k)) known.delete(k);

  const edits: ScalarEdit[] = [];
  for (const c of candidates) {
    const spans = c.isString ? [...c.spans, ...occurrenceSpans(c.text, known)] : c.spans;
    if (mergeSpans(spans).length) edits.push({ node: c.node, inFlow: c.inFlow, value: replaceSpans(c.text, spans, secrets.markerFor) });
  }
  const maskComment = (comment: string) => replaceSpans(comment, [...commentSecretSpans(comment), ...occurrenceSpans(comment, known)], secrets.markerFor);
  return rewriteYaml(text, doc, edits, maskComment);
}

/**
 * User-data with every secret replaced by a marker (`***`, or numbered markers whose secrets come
 * back in `secrets`). A cloud-config keeps its shape and everything that is not a secret.
 */
export function maskCloudInit(text: string, options: MaskOptions = {}): MaskedText {
  const secrets = new SecretList(options.marker ?? (() => SECRET_MASK));
  const alsoHide = options.alsoHide ?? [];
  const kind = kindOf(text);
  const doc = kind === 'cloud-config' ? parseYaml(text) : undefined;
  if (doc && isMap(doc.contents)) return { text: maskDocument(text, doc, secrets, alsoHide), secrets: secrets.values };
  // A script is read as shell; anything else (unparsable, multipart) is masked line by line, generously.
  const spans = kind === 'script' ? textSecretSpans(text) : looseLineSpans(text);
  const found = mergeSpans(spans).map((s) => text.slice(s.start, s.end));
  const known = [...found, ...alsoHide].filter((k) => !NOT_WORTH_HIDING.test(k));
  return { text: replaceSpans(text, [...spans, ...occurrenceSpans(text, known)], secrets.markerFor), secrets: secrets.values };
}

/**
 * The inverse of maskCloudInit with numbered markers: each marker still in the text becomes its
 * secret again, written so the YAML reads back as intended; the rest stays as typed.
 */
export function unmaskCloudInit(text: string, secrets: readonly string[], marker: (index: number) => string): string {
  const markers = secrets.map((_, i) => marker(i));
  if (!markers.some((m) => text.includes(m))) return text;
  const restore = (t: string) => markers.reduce((acc, m, i) => acc.split(m).join(secrets[i]), t);
  const doc = kindOf(text) === 'cloud-config' ? parseYaml(text) : undefined;
  if (!doc || !isMap(doc.contents)) return restore(text);
  const edits: ScalarEdit[] = [];
  visit(doc, {
    Scalar(_key, node, path) {
      if (typeof node.value === 'string' && markers.some((m) => (node.value as string).includes(m)))
        edits.push({ node, inFlow: inFlowOf(path), value: restore(node.value) });
    },
  });
  return rewriteYaml(text, doc, edits, restore);
}
