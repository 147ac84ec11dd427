/** Slack text: clipping and escaping keep characters whole and entities intact, within the limit; fences cannot end a code block. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clip, clipMrkdwn, codeBlock, decider, defuseFences, escapeClip, escapeText, quoted } from '../../src/slack/escape.js';

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BROKEN_ENTITY = /&(?!amp;|lt;|gt;)/;

/** Text people type, and what breaks naive cutting: emoji, skin tones, ZWJ families, flags, accents, `&<>`, backticks. */
const tricky = fc.constantFrom('😀', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇫🇷', 'é', 'e\u0301', '&', '<', '>', '`', '```', '<!channel>', '&amp;', '\n', 'a');
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.array(tricky, { maxLength: 60 }).map((parts) => parts.join('')),
  fc.tuple(fc.string({ unit: 'binary', maxLength: 20 }), fc.array(tricky, { maxLength: 20 })).map(([a, parts]) => a + parts.join('')),
);
const max = fc.integer({ min: 0, max: 40 });

describe('clipping and escaping Slack text', () => {
  it('clip: within the limit, no unpaired surrogate, a prefix of the text when cut', () => {
    fc.assert(
      fc.property(text, max, (t, m) => {
        const out = clip(t, m);
        expect(out.length).toBeLessThanOrEqual(Math.max(m, 0));
        expect(out).not.toMatch(UNPAIRED_SURROGATE);
        if (t.length <= m) expect(out).toBe(t);
        else if (m > 0) {
          expect(out.endsWith('…')).toBe(true);
          expect(t.startsWith(out.slice(0, -1))).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('escapeClip: within the limit, no unpaired surrogate, no broken entity, nothing left unescaped', () => {
    fc.assert(
      fc.property(text, max, (t, m) => {
        const out = escapeClip(t, m);
        expect(out.length).toBeLessThanOrEqual(Math.max(m, 0));
        expect(out).not.toMatch(UNPAIRED_SURROGATE);
        expect(out).not.toMatch(BROKEN_ENTITY);
        expect(out).not.toMatch(/[<>]/);
        if (escapeText(t).length <= m) expect(out).toBe(escapeText(t));
        else if (m > 0) expect(escapeText(t).startsWith(out.slice(0, -1))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps emoji and ZWJ sequences whole rather than cutting them', () => {
    expect(clip('ab👨‍👩‍👧‍👦cd', 5)).toBe('ab…');
    expect(clip('👍🏽👍🏽👍🏽', 6)).toBe('👍🏽…');
    expect(clip('😀😀😀', 4)).toBe('😀…');
    expect(escapeClip('a&b', 5)).toBe('a…');
    expect(escapeClip('a&b', 6)).toBe('a…');
    expect(escapeClip('a&bc', 7)).toBe('a&amp;…');
    expect(escapeClip('<<<<', 9)).toBe('&lt;&lt;…');
  });

  it('clipMrkdwn: within the limit, never ends inside an entity or a <…> token, closes a code block it cut', () => {
    // As the views compose it: user text escaped (fences defused), mentions, dates, code blocks.
    const piece = fc.oneof(
      text.map((t) => escapeText(defuseFences(t))),
      fc.constantFrom('<@U0LEAD1>', '<!date^1700000000^{date_short_pretty} at {time}|2023-11-14>', '*bold*', '\n'),
      text.map((t) => codeBlock(t, 30)),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.integer({ min: 0, max: 200 }), (pieces, m) => {
        const out = clipMrkdwn(pieces.join(''), m);
        expect(out.length).toBeLessThanOrEqual(m);
        expect(out).not.toMatch(UNPAIRED_SURROGATE);
        expect(out).not.toMatch(BROKEN_ENTITY);
        expect(out.replace(/<[@!][^<>]*>/g, '')).not.toMatch(/[<>]/);
        expect((out.split('```').length - 1) % 2).toBe(0);
      }),
      { numRuns: 1000 },
    );
  });

  it('no fence survives in user text, and a code block of user text has exactly its own two', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 7, max: 60 }), (t, m) => {
        expect(defuseFences(t)).not.toContain('```');
        const block = codeBlock(t, m);
        expect(block.length).toBeLessThanOrEqual(m);
        expect(block.startsWith('```') && block.endsWith('```')).toBe(true);
        expect(block.split('```')).toHaveLength(3);
        // A backtick next to either fence would make it ````.
        expect(block).not.toMatch(/^````|````$/);
        expect(block).not.toMatch(BROKEN_ENTITY);
        expect(block).not.toMatch(UNPAIRED_SURROGATE);
      }),
      { numRuns: 2000 },
    );
    expect(codeBlock('drive "x```\n*Approved*": disk', 100)).toBe('```drive "x`\u200B`\u200B`\n*Approved*": disk```');
  });

  it('quotes every line of user text, so a newline cannot step out of the quote', () => {
    fc.assert(
      fc.property(text, (t) => {
        const out = quoted(t, 500);
        for (const line of out.split('\n')) expect(line.startsWith('>')).toBe(true);
        expect(out).not.toContain('```');
      }),
    );
  });

  it('names a policy decision as its rule, a person as a mention', () => {
    expect(decider('policy:small-auto')).toBe('rule small-auto');
    expect(decider('policy:<!here>')).toBe('rule &lt;!here&gt;');
    expect(decider('U0LEAD1')).toBe('<@U0LEAD1>');
  });
});
