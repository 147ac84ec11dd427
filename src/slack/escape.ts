/**
 * Text a user typed, made inert for Slack mrkdwn: `&`, `<` and `>` become entities, so
 * `<!channel>`, `<@U…>` and links stay plain text. The bot never sends `link_names`, so a bare
 * `@here` is not a mention either.
 */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escaped, and cut to `max` characters (Slack limits text fields) with an ellipsis. */
export function escapeClip(text: string, max: number): string {
  const escaped = escapeText(text);
  return escaped.length > max ? `${escaped.slice(0, max - 1)}…` : escaped;
}

/** For plain_text fields: no mrkdwn, but still clipped. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export const mention = (userId: string): string => `<@${userId}>`;

/** Slack date formatting that shows in each reader's own time zone. */
export function slackDate(iso: string): string {
  const seconds = Math.floor(new Date(iso).getTime() / 1000);
  return `<!date^${seconds}^{date_short_pretty} at {time}|${iso}>`;
}
