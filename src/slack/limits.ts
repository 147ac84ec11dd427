/**
 * Slack's Block Kit limits as a zod schema. No npm package checks them offline; view builders'
 * tests parse every view and message through these so a limit is caught before Slack refuses it.
 */
import { z } from 'zod';

const plainText = (max: number) => z.object({ type: z.literal('plain_text'), text: z.string().min(1).max(max) }).loose();
const anyText = (max: number) => z.object({ type: z.enum(['plain_text', 'mrkdwn']), text: z.string().max(max) }).loose();

const option = z.object({ text: anyText(75), value: z.string().max(150) }).loose();

const element: z.ZodType = z.lazy(() =>
  z
    .object({
      type: z.string(),
      action_id: z.string().max(255).optional(),
      placeholder: plainText(150).optional(),
      options: z.array(option).max(100).optional(),
      option_groups: z
        .array(z.object({ label: plainText(75), options: z.array(option).max(100) }).loose())
        .max(100)
        .optional(),
      initial_value: z.string().max(3000).optional(),
      max_length: z.number().max(3000).optional(),
      text: anyText(75).optional(),
      value: z.string().max(2000).optional(),
      confirm: z
        .object({ title: plainText(100), text: anyText(300), confirm: plainText(30), deny: plainText(30) })
        .loose()
        .optional(),
    })
    .loose(),
);

export const blockSchema = z
  .object({
    type: z.string(),
    block_id: z.string().max(255).optional(),
    text: anyText(3000).optional(),
    fields: z.array(anyText(2000)).max(10).optional(),
    elements: z
      .array(z.union([element, anyText(3000)]))
      .max(25)
      .optional(),
    element: element.optional(),
    accessory: element.optional(),
    label: plainText(2000).optional(),
    hint: plainText(2000).optional(),
  })
  .loose()
  .refine((b) => b.type !== 'header' || (b.text?.text.length ?? 0) <= 150, { message: 'header text over 150 characters' })
  .refine((b) => b.type !== 'actions' || (b.elements?.length ?? 0) <= 25, { message: 'more than 25 elements in an actions block' });

export const modalViewSchema = z
  .object({
    type: z.literal('modal'),
    title: plainText(24),
    submit: plainText(24).optional(),
    close: plainText(24).optional(),
    blocks: z.array(blockSchema).max(100),
    private_metadata: z.string().max(3000).optional(),
    callback_id: z.string().max(255).optional(),
  })
  .loose()
  .refine((v) => JSON.stringify(v).length < 250_000, { message: 'view payload over 250 KB' })
  .refine((v) => new Set(v.blocks.map((b) => b.block_id).filter(Boolean)).size === v.blocks.filter((b) => b.block_id).length, {
    message: 'duplicate block_id',
  });

export const homeViewSchema = z
  .object({ type: z.literal('home'), blocks: z.array(blockSchema).max(100), private_metadata: z.string().max(3000).optional() })
  .loose();

/** A message: at most 50 blocks and (undocumented, ~12k) total text under `msg_blocks_too_long`. */
export const messageSchema = z
  .object({ text: z.string().min(1).max(40_000), blocks: z.array(blockSchema).max(50).optional() })
  .loose()
  .refine((m) => JSON.stringify(m.blocks ?? []).length <= 12_000, { message: 'blocks too long for one message' });
