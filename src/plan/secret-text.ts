/**
 * Secrets inside free text (shell lines, config-file lines, comments, scripts) found as spans:
 * offsets of the secret part only, so the rest of a line stays readable (`echo 'root:***' |
 * chpasswd`). The YAML-aware masker (cloud-init-mask.ts) runs these on every string it finds;
 * scripts and user-data that does not parse get them line by line.
 */

export interface Span {
  start: number;
  end: number;
}

/** Word parts that make a key secret: `hashed_passwd`, `github_token`, `apiKey`, `rsa_private`. */
const SECRET_KEY_WORD =
  /(?:^|_)(?:passw(?:or)?ds?|passphrase|token|secrets?|api_?key|apikey|private_?key|privkey|access_?key|secret_?key|auth_?key|registration_?key|activation_?key|credentials?|bearer)(?:_|$)/;
/** The same words inside any name (`MYSQL_ROOT_PASSWORD=`, `X-Auth-Token:`, `?access_token=`). */
const SECRET_NAME = /passw(?:or)?d|passphrase|token|secret|api[_-]?key|apikey|private[_-]?key|access[_-]?key|auth[_-]?key|credential/i;
/** Settings about passwords and keys that hold none: cloud-init's switches and public parts. */
const NOT_SECRET_KEYS = new Set([
  'lock_passwd',
  'ssh_pwauth',
  'chpasswd',
  'expire',
  'ssh_authorized_keys',
  'ssh_import_id',
  'ssh_deletekeys',
  'ssh_genkeytypes',
  'ssh_publish_hostkeys',
  'ssh_quiet_keygen',
  'disable_root',
]);
/** Values that say "on/off/none" rather than hold anything. */
const NOT_A_VALUE = /^(?:true|false|yes|no|on|off|null|~|[|>][-+0-9]*(?:\s+#.*)?)$/i;
/** A crypt(3) password hash (`$6$salt$hash`, `$y$…`, `$2b$…`) wherever it appears. */
const CRYPT_HASH = /\$(?:1|2[aby]?|5|6|y|gy|7|sha1|md5)\$[./A-Za-z0-9$=,]{8,}/g;
const PEM_BEGIN = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----/g;

export function normalizeKey(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-.\s]+/g, '_')
    .toLowerCase();
}

/** Whether a key's value is a secret (`passwd`, `*_token`, `rsa_private`), not a switch like `lock_passwd`. */
export function isSecretKey(key: string): boolean {
  const k = normalizeKey(key);
  if (NOT_SECRET_KEYS.has(k) || k.endsWith('_public') || k.endsWith('_certificate')) return false;
  return SECRET_KEY_WORD.test(k) || k.endsWith('_private');
}

/** sudoers tags (`ALL=(ALL) NOPASSWD:ALL`), not settings. */
const SUDO_TAGS = new Set(['NOPASSWD', 'PASSWD']);

function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !NOT_SECRET_KEYS.has(normalizeKey(name)) && !SUDO_TAGS.has(name);
}

export function mergeSpans(spans: readonly Span[]): Span[] {
  const sorted = spans.filter((s) => s.end > s.start).sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out.at(-1);
    if (last && s.start < last.end) last.end = Math.max(last.end, s.end);
    else out.push({ ...s });
  }
  return out;
}

/** The text with each span replaced by what `replace` gives for the secret it covers. */
export function replaceSpans(text: string, spans: readonly Span[], replace: (secret: string) => string): string {
  let out = '';
  let at = 0;
  for (const s of mergeSpans(spans)) {
    out += text.slice(at, s.start) + replace(text.slice(s.start, s.end));
    at = s.end;
  }
  return out + text.slice(at);
}

/** Where known secrets occur (each at least `min` characters, so short ones do not blank out words). */
export function occurrenceSpans(text: string, secrets: Iterable<string>, min = 4): Span[] {
  const out: Span[] = [];
  for (const secret of secrets) {
    if (secret.length < min) continue;
    for (let i = text.indexOf(secret); i >= 0; i = text.indexOf(secret, i + secret.length)) out.push({ start: i, end: i + secret.length });
  }
  return out;
}

/** `user:password` entries (a chpasswd list, a line fed to chpasswd): the part after the first colon. */
export function passwordEntrySpans(text: string, offset = 0): Span[] {
  const out: Span[] = [];
  // Entries are separated by line breaks, or by `\n` escapes inside an echo.
  for (const m of text.matchAll(/(?:[^\n\\]|\\(?!n))+/g)) {
    const entry = m[0].replace(/\s+$/, '');
    const colon = entry.indexOf(':');
    if (colon <= 0 || /^(?:R|RANDOM)$/.test(entry.slice(colon + 1)) || colon + 1 === entry.length) continue;
    out.push({ start: offset + m.index + colon + 1, end: offset + m.index + entry.length });
  }
  return out;
}

/** The body of every PEM private key (the BEGIN/END lines stay, to say what was there). */
function privateKeySpans(text: string): Span[] {
  const out: Span[] = [];
  for (const m of text.matchAll(PEM_BEGIN)) {
    const from = m.index + m[0].length;
    const end = text.indexOf(`-----END ${m[1] ?? ''}PRIVATE KEY${m[2] ?? ''}-----`, from);
    const body = text.slice(from, end < 0 ? text.length : end);
    const lead = body.length - body.trimStart().length;
    out.push({ start: from + lead, end: from + body.trimEnd().length });
  }
  return out;
}

interface Word {
  start: number;
  end: number;
  text: string;
}
interface Stage {
  start: number;
  end: number;
  /** The separator before it: `|` for the right side of a pipe. */
  after: string;
  words: Word[];
}

const WORD = /'([^']*)'|"((?:[^"\\]|\\.)*)"|((?:[^\s'"|;&<>()`\\]|\\.)+)/g;

/** A shell line cut into commands at unquoted `|`, `;`, `&`, `(`, `)`, backquotes; each with its words. */
function stagesOf(line: string): Stage[] {
  const stages: Stage[] = [];
  let quote = '';
  let start = 0;
  let after = '';
  const close = (end: number, sep: string) => {
    const words: Word[] = [];
    for (const m of line.slice(start, end).matchAll(WORD)) {
      const quoted = m[1] !== undefined || m[2] !== undefined;
      const text = m[1] ?? m[2] ?? m[3] ?? '';
      words.push({ start: start + m.index + (quoted ? 1 : 0), end: start + m.index + (quoted ? 1 : 0) + text.length, text });
    }
    stages.push({ start, end, after, words });
    after = sep;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = '';
      else if (c === '\\' && quote === '"') i++;
    } else if (c === '\\') i++;
    else if (c === "'" || c === '"') quote = c;
    else if ('|;&()`'.includes(c)) {
      const double = (c === '|' || c === '&') && line[i + 1] === c;
      close(i, double ? c + c : c);
      i += double ? 1 : 0;
      start = i + 1;
    }
  }
  close(line.length, '');
  return stages;
}

const basename = (word: string) => word.slice(word.lastIndexOf('/') + 1);
/** Options that take a value, per command, so that value is not read as an argument. */
const VALUE_OPTIONS: Record<string, string[]> = {
  openssl: ['-salt', '-in'],
  mkpasswd: ['-m', '--method', '-S', '--salt', '-R', '--rounds', '-P', '--password-fd'],
  sudo: ['-u', '-g', '-h', '-p', '-C', '-D', '-R', '-T', '-U'],
};
const SECRET_FLAG = /^--(?:[\w-]*-)?(?:password|passwd|passphrase|token|api-?key|apikey|secret)$/i;

/** Where the command itself is: past `sudo` (and its options), `env`, `exec`, variable assignments. */
function commandIndex(words: readonly string[]): number {
  let i = 0;
  while (i < words.length && /^(?:sudo|env|exec|nohup|time|command)$|^-|^\w+=/.test(basename(words[i]!))) i += VALUE_OPTIONS.sudo!.includes(words[i]!) ? 2 : 1;
  return i;
}

/** Which words of one command are secrets: `whole`, or `entry` (the password of `user:password`). */
export function commandSecrets(words: readonly string[]): Array<{ index: number; part: 'whole' | 'entry' }> {
  const out: Array<{ index: number; part: 'whole' | 'entry' }> = [];
  const i = commandIndex(words);
  const cmd = basename(words[i] ?? '');
  const args = words.slice(i + 1).map((text, k) => ({ text, index: i + 1 + k }));
  const valueAfter = (k: number) => {
    const value = args[k + 1];
    if (value && !value.text.startsWith('-')) out.push({ index: value.index, part: 'whole' });
  };
  args.forEach((a, k) => {
    if (SECRET_FLAG.test(a.text)) valueAfter(k);
    if (['usermod', 'useradd', 'adduser'].includes(cmd) && a.text === '-p') valueAfter(k);
    if (cmd === 'ssh-keygen' && (a.text === '-N' || a.text === '-P')) valueAfter(k);
    if (['curl', 'wget'].includes(cmd) && (a.text === '-u' || a.text === '--user') && args[k + 1]) out.push({ index: args[k + 1]!.index, part: 'entry' });
    if (cmd === 'chpasswd' && !a.text.startsWith('-') && a.text.includes(':')) out.push({ index: a.index, part: 'entry' });
  });
  const positional = (from: number, options: string[]) => {
    const found: number[] = [];
    for (let k = from; k < args.length; k++) {
      if (options.includes(args[k]!.text)) k++;
      else if (!args[k]!.text.startsWith('-')) found.push(args[k]!.index);
    }
    return found;
  };
  if (cmd === 'openssl' && args[0]?.text === 'passwd') for (const index of positional(1, VALUE_OPTIONS.openssl!)) out.push({ index, part: 'whole' });
  if (cmd === 'mkpasswd') {
    const first = positional(0, VALUE_OPTIONS.mkpasswd!)[0];
    if (first !== undefined) out.push({ index: first, part: 'whole' });
  }
  return out;
}

/** The command a stage runs, and whether it is `sudo -S` (which reads a password from the pipe). */
function commandOf(stage: Stage): { name: string; sudoStdin: boolean } {
  const words = stage.words.map((w) => w.text);
  const sudoStdin = basename(words[0] ?? '') === 'sudo' && words.slice(0, commandIndex(words)).some((w) => /^-\w*S/.test(w));
  return { name: basename(words[commandIndex(words)] ?? ''), sudoStdin };
}

/** What an `echo`/`printf` stage feeds: its arguments, past the command and its options. */
function echoedWords(stage: Stage): Word[] {
  const [first, ...rest] = stage.words;
  if (!first || !['echo', 'printf'].includes(basename(first.text))) return [];
  let k = 0;
  while (k < rest.length && /^-[a-zA-Z]+$/.test(rest[k]!.text)) k++;
  return rest.slice(k);
}

/**
 * One shell line's secrets (offsets within the line). `prose` (a comment) takes a `name: value`
 * only as a whole line with a one-word value, so `# passwd: the hash of …` stays readable.
 */
function shellLineSpans(line: string, prose = false): Span[] {
  const out: Span[] = [];
  const whole = (w: Word) => out.push({ start: w.start, end: w.end });
  const entry = (w: Word) => out.push(...passwordEntrySpans(w.text, w.start));
  const stages = stagesOf(line);
  stages.forEach((stage, s) => {
    const found = commandSecrets(stage.words.map((w) => w.text));
    for (const f of found) (f.part === 'whole' ? whole : entry)(stage.words[f.index]!);
    const { name, sudoStdin } = commandOf(stage);
    // `echo 'root:pw' | chpasswd`, `echo pw | passwd --stdin u`, `echo pw | sudo -S …`
    const fed = stage.after === '|' && s > 0 ? echoedWords(stages[s - 1]!) : [];
    if (name === 'chpasswd') fed.forEach(entry);
    else if (name === 'passwd' || sudoStdin) fed.forEach(whole);
    // `passwd --stdin u <<< 'pw'`
    const hereString = line.slice(stage.start, stage.end).indexOf('<<<');
    if (name === 'passwd' && hereString >= 0) stage.words.filter((w) => w.start > stage.start + hereString).forEach(whole);
    for (const w of stage.words) {
      // `--password=x`, `--token=x`
      const eq = w.text.indexOf('=');
      if (eq > 0 && SECRET_FLAG.test(w.text.slice(0, eq))) out.push({ start: w.start + eq + 1, end: w.end });
    }
  });
  /** A value at `at` as a span; a quoted value's inside only. */
  const value = (at: number, text: string) => {
    const quoted = /^(['"]).*\1$/.test(text);
    out.push(quoted ? { start: at + 1, end: at + text.length - 1 } : { start: at, end: at + text.length });
  };
  /** The match's `group`, which ends it. */
  const add = (m: RegExpMatchArray, group: number) => {
    const text = m[group];
    if (text !== undefined && m.index !== undefined) value(m.index + m[0].lastIndexOf(text), text);
  };
  // `Authorization: Bearer x`, `Authorization: Basic x`
  for (const m of line.matchAll(/\b(?:Proxy-)?Authorization\s*:\s*(?:(?:Bearer|Basic|Token|Digest|Negotiate)\s+)?([^\s'"\\]+)/gi)) add(m, 1);
  for (const m of line.matchAll(/\b(?:Bearer|Basic)\s+([A-Za-z0-9._~+/=-]{8,})/g)) add(m, 1);
  // `name: value` / `name=value` with a secret-sounding name: headers, env, query strings
  for (const m of line.matchAll(/(?<![\w.-])([A-Za-z_][\w.-]*)\s*[:=]\s*('[^'\n]*'|"(?:[^"\\\n]|\\.)*"|[^\s'"&;|,)}\]]+)/g)) {
    if (!prose && isSecretName(m[1]!) && !NOT_A_VALUE.test(m[2]!)) add(m, 2);
  }
  // `?access_token=x&…` (a URL is otherwise read as one value of `https:`)
  for (const m of line.matchAll(/[?&]([\w.-]+)=([^&\s'"#]+)/g)) if (isSecretName(m[1]!)) add(m, 2);
  // `https://user:password@host`, `openssl … -pass pass:x`
  for (const m of line.matchAll(/\b[a-z][a-z0-9+.-]{0,30}:\/\/[^/\s:@'"]+:([^@\s/'"]+)@/gi)) add(m, 1);
  for (const m of line.matchAll(/-pass(?:in|out)?\s+pass:([^\s'"]+)/g)) add(m, 1);
  // A whole config line `password = two words`, `  passwd: x # comment`
  const config = /^(\s*(?:#+\s*)?(?:-\s+)?(?:export\s+)?["']?)([A-Za-z_][\w.-]*)(["']?\s*[:=]\s*)(\S.*)$/.exec(line);
  const configValue = config?.[4]?.trimEnd() ?? '';
  if (config && isSecretKey(config[2]!) && !NOT_A_VALUE.test(configValue) && !(prose && /\s/.test(configValue)))
    value(config.index + config[0].lastIndexOf(configValue), configValue);
  return out;
}

/** Secrets in a comment (`# …`): commented-out settings and commands, not words in prose. */
export function commentSecretSpans(comment: string): Span[] {
  const out: Span[] = [...privateKeySpans(comment), ...shellLineSpans(comment, true)];
  for (const m of comment.matchAll(CRYPT_HASH)) out.push({ start: m.index, end: m.index + m[0].length });
  return out;
}

/** Secrets in free text: shell lines (with chpasswd/passwd here-documents), config lines, PEM bodies, crypt hashes. */
export function textSecretSpans(text: string): Span[] {
  const out: Span[] = [...privateKeySpans(text)];
  for (const m of text.matchAll(CRYPT_HASH)) out.push({ start: m.index, end: m.index + m[0].length });
  let offset = 0;
  let heredoc: { until: string; entries: boolean } | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (heredoc) {
      if (line.trim() === heredoc.until) heredoc = undefined;
      else if (heredoc.entries) out.push(...passwordEntrySpans(line, offset));
      else if (line.trim()) out.push({ start: offset + line.length - line.trimStart().length, end: offset + line.trimEnd().length });
    } else {
      for (const s of shellLineSpans(line)) out.push({ start: offset + s.start, end: offset + s.end });
      const opens = line.includes('<<') && !line.includes('<<<') ? /(?:^|[\s|;&(])(ch)?passwd\b[^<]*<<-?\s*(['"]?)([\w.-]+)\2/.exec(line) : null;
      if (opens) heredoc = { until: opens[3]!, entries: opens[1] !== undefined };
    }
    offset += raw.length + 1;
  }
  return out;
}

/**
 * The conservative mask for text that does not parse: every rule above, plus any line that
 * looks like a `user:password` entry (an unparsable chpasswd list must not leak).
 */
export function looseLineSpans(text: string): Span[] {
  const out = textSecretSpans(text);
  let offset = 0;
  for (const line of text.split('\n')) {
    const m = /^(\s*(?:-\s+)?["']?[\w.@-]+:)(?!\/\/)(\S+?)["']?\r?$/.exec(line);
    if (m && !/^(?:R|RANDOM)$/.test(m[2]!)) out.push({ start: offset + m[1]!.length, end: offset + m[1]!.length + m[2]!.length });
    offset += line.length + 1;
  }
  return out;
}
