/** The Block Kit pieces the request form's fields are made of. */
import type { types } from '@slack/bolt';
import { clip } from '../../escape.js';
import type { Choice, OptionSource } from './model.js';

export const text = (t: string): types.PlainTextElement => ({ type: 'plain_text', text: t, emoji: true });
export const option = (value: string, label: string): types.PlainTextOption => ({ text: text(clip(label, 75)), value });
export const choiceOption = (c: Choice): types.PlainTextOption => option(c.value, c.label);

export function staticSelect(actionId: string, values: readonly string[], initial: string | undefined, prompt: string): types.StaticSelect {
  return {
    type: 'static_select',
    action_id: actionId,
    placeholder: text(prompt),
    options: values.map((v) => option(v, v)),
    ...(initial && values.includes(initial) ? { initial_option: option(initial, initial) } : {}),
  };
}

export function externalSelect(source: OptionSource, initial: Choice | undefined, prompt: string): types.ExternalSelect {
  return {
    type: 'external_select',
    action_id: source,
    min_query_length: 0,
    placeholder: text(prompt),
    ...(initial ? { initial_option: choiceOption(initial) } : {}),
  };
}

export function input(
  block_id: string,
  label: string,
  element: types.InputBlockElement,
  opts: { optional?: boolean; hint?: string; dispatch?: boolean } = {},
): types.InputBlock {
  return {
    type: 'input',
    block_id,
    label: text(label),
    element,
    optional: opts.optional ?? false,
    ...(opts.hint ? { hint: text(opts.hint) } : {}),
    ...(opts.dispatch ? { dispatch_action: true } : {}),
  };
}

export function textInput(initial: string | undefined, prompt: string, extra: Partial<types.PlainTextInput> = {}): types.PlainTextInput {
  return { type: 'plain_text_input', action_id: 'value', placeholder: text(prompt), ...(initial ? { initial_value: initial } : {}), ...extra };
}

/** A whole-number input; `initial` is shown unless undefined. */
export function numberInput(min: string, max: string, initial: number | undefined): types.NumberInput {
  return {
    type: 'number_input',
    action_id: 'value',
    is_decimal_allowed: false,
    min_value: min,
    max_value: max,
    ...(initial === undefined ? {} : { initial_value: String(initial) }),
  };
}

/** Checkboxes from (value, label) pairs, those in `on` ticked. */
export function checkboxes(choices: ReadonlyArray<readonly [string, string]>, on: (value: string) => boolean): types.Checkboxes {
  const initial = choices.filter(([value]) => on(value)).map(([value, label]) => option(value, label));
  return {
    type: 'checkboxes',
    action_id: 'value',
    options: choices.map(([value, label]) => option(value, label)),
    ...(initial.length ? { initial_options: initial } : {}),
  };
}

export function button(actionId: string, label: string, value: string): types.Button {
  return { type: 'button', action_id: actionId, text: text(label), value };
}
