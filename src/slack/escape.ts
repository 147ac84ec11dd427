/**
 * Text a user typed, made inert for Slack mrkdwn: `&`, `<` and `>` become entities, so
 * `<!channel>`, `<@U…>` and links stay plain text. The bot never sends `link_names`, so a bare
 * `@here` is not a mention either.
 */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const ELLIPSIS = '…';
const ZERO_WIDTH_SPACE = '\u200B';
const FENCE = '```';
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** UTF-16 units (what `.length` and Slack's limits count) a piece of text takes once escaped. */
const escapedLength = (piece: string): number => {
  let length = 0;
  for (const ch of piece) length += ch === '&' ? 5 : ch === '<' || ch === '>' ? 4 : ch.length;
  return length;
};

/**
 * The longest prefix of `text` made of whole user-perceived characters (grapheme clusters: an
 * emoji with its skin tone, a ZWJ family, a letter with its accents) costing at most `budget`.
 * A first cluster longer than the whole budget is cut between code points, so something shows;
 * a surrogate pair is never split.
 */
function prefixWithin(text: string, budget: number, cost: (piece: string) => number = (piece) => piece.length): string {
  let prefix = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const needs = cost(segment);
    if (used + needs <= budget) {
      prefix += segment;
      used += needs;
      continue;
    }
    if (!prefix) {
      for (const codePoint of segment) {
        if (used + cost(codePoint) > budget) break;
        prefix += codePoint;
        used += cost(codePoint);
      }
    }
    break;
  }
  return prefix;
}

/** For plain_text fields: no mrkdwn, but cut to `max` characters (Slack limits text fields) with an ellipsis. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return max < 1 ? '' : `${prefixWithin(text, max - 1)}${ELLIPSIS}`;
}

/**
 * Escaped, and at most `max` characters with an ellipsis: the raw text is cut, so the result
 * never ends in half an entity (`&am…`).
 */
export function escapeClip(text: string, max: number): string {
  const escaped = escapeText(text);
  if (escaped.length <= max) return escaped;
  return max < 1 ? '' : `${escapeText(prefixWithin(text, max - 1, escapedLength))}${ELLIPSIS}`;
}

/**
 * Composed mrkdwn (escaped user text, mentions, dates, code blocks) cut to `max` characters: never
 * inside an entity or a `<…>` token, and a code block left open by the cut is closed.
 */
export function clipMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max < 1) return '';
  const cutTo = (budget: number) =>
    prefixWithin(text, budget)
      .replace(/&[a-z]*$/, '')
      .replace(/<[^>]*$/, '');
  const open = (cut: string) => (cut.split(FENCE).length - 1) % 2 === 1;
  const cut = cutTo(max - 1);
  if (!open(cut)) return `${cut}${ELLIPSIS}`;
  // Room for the closing fence; a shorter cut may have dropped the opening one.
  const shorter = cutTo(max - 1 - FENCE.length);
  return `${shorter}${ELLIPSIS}${open(shorter) ? FENCE : ''}`;
}

/**
 * User text bound for a ``` code block, made unable to end it: a zero-width space goes between
 * any two backticks, so no fence survives (the text looks the same).
 */
export function defuseFences(text: string): string {
  return text.replace(/`(?=`)/g, `\`${ZERO_WIDTH_SPACE}`);
}

/** Text holding user input as a ``` block of at most `max` characters: fences defused, escaped, clipped. */
export function codeBlock(text: string, max: number): string {
  let body = defuseFences(text);
  // A backtick at either edge would run into the fence beside it (````), as would an empty block.
  if (!body || body.startsWith('`')) body = `${ZERO_WIDTH_SPACE}${body}`;
  if (body.endsWith('`')) body = `${body}${ZERO_WIDTH_SPACE}`;
  return `${FENCE}${escapeClip(body, Math.max(0, max - 2 * FENCE.length))}${FENCE}`;
}

/**
 * User text as a mrkdwn block quote: every line quoted (a newline cannot step out of it), escaped,
 * fences defused; `max` counts the text, not the quote marks.
 */
export function quoted(text: string, max: number): string {
  return escapeClip(defuseFences(text), max)
    .split('\n')
    .map((line) => `>${line}`)
    .join('\n');
}

export const mention = (userId: string): string => `<@${userId}>`;

/** Who decided a request, as Slack shows it: a person's mention, or `rule NAME` when the policy approved it (`policy:NAME`). */
export function decider(decidedBy: string): string {
  return decidedBy.startsWith('policy:') ? `rule ${escapeText(decidedBy.slice('policy:'.length))}` : mention(decidedBy);
}

/** Slack date formatting that shows in each reader's own time zone. */
export function slackDate(iso: string): string {
  const seconds = Math.floor(new Date(iso).getTime() / 1000);
  return `<!date^${seconds}^{date_short_pretty} at {time}|${iso}>`;
}
