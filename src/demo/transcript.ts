/** Slack messages as a terminal reader would want them: mentions as @names, links as text, buttons in brackets. */
import type { SlackSim } from '../sim/slack-sim.js';

const EMOJI: Record<string, string> = {
  white_check_mark: '✔',
  x: '✘',
  tada: '★',
  warning: '!',
  no_entry: '⛔',
  wastebasket: '🗑',
  hourglass: '⌛',
  heavy_multiplication_x: '✖',
  arrows_counterclockwise: '↻',
  repeat: '↻',
  hourglass_flowing_down: '⌛',
  busts_in_silhouette: '👥',
  robot_face: '⚙',
  bar_chart: '▤',
  octagonal_sign: '■',
  black_square_button: '□',
  infinity: '∞',
  ghost: '👻',
  wrench: '🔧',
  globe_with_meridians: '🌐',
};

type Block = {
  type: string;
  text?: { text: string };
  fields?: Array<{ text: string }>;
  elements?: Array<{ type: string; text?: string | { text: string }; placeholder?: { text: string } }>;
};

export function plain(slack: SlackSim, mrkdwn: string): string {
  return mrkdwn
    .replace(/<@(U\w+)>/g, (_m, id: string) => `@${slack.users.get(id)?.name ?? id}`)
    .replace(/<!subteam\^(S\w+)>/g, (_m, id: string) => `@${id === 'S0LEADS' ? 'leads' : id}`)
    .replace(/<!date\^\d+\^[^|]*\|([^>]+)>/g, (_m, iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))
    .replace(/<([^|>]+)\|([^>]+)>/g, '$2')
    .replace(/:([a-z_]+):/g, (m, name: string) => EMOJI[name] ?? m)
    .replace(/```/g, '')
    .replace(/\*([^*\n]+)\*/g, '$1')
    .replace(/(^|\s)_([^_\n]+)_(?=\s|$)/g, '$1$2')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** A message's visible text: its sections, fields and context, and its buttons as [Label]. */
export function render(slack: SlackSim, message: { text: string; blocks: unknown[] }, indent = '    '): string {
  const lines: string[] = [];
  for (const block of message.blocks as Block[]) {
    if (block.type === 'header' && block.text) lines.push(block.text.text);
    if (block.type === 'section') {
      if (block.text) lines.push(plain(slack, block.text.text));
      if (block.fields) lines.push(block.fields.map((f) => plain(slack, f.text).replace('\n', ': ')).join(' · '));
    }
    if (block.type === 'context') lines.push(...(block.elements ?? []).map((e) => plain(slack, typeof e.text === 'string' ? e.text : (e.text?.text ?? ''))));
    // Buttons by their label, a menu by its placeholder ("More…").
    if (block.type === 'actions')
      lines.push((block.elements ?? []).map((e) => `[${typeof e.text === 'object' ? e.text.text : (e.placeholder?.text ?? '')}]`).join(' '));
  }
  if (!lines.length) lines.push(plain(slack, message.text));
  return lines
    .join('\n')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => `${indent}${l}`)
    .join('\n');
}
