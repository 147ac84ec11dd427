/**
 * Plays Slack users against the bot: requests signed with the signing secret exactly as Slack
 * sends them — slash commands (form-encoded), interactivity (`payload=<json>`), options, events —
 * with view submissions built from the view the bot actually opened: its block and action ids
 * and its initial values, changed only where the "user" typed something.
 */
import { createHmac } from 'node:crypto';
import { request } from 'undici';
import { CodedError } from '../errors.js';
import { SLACK_SIM, SLACK_SIM_SIGNING_SECRET, type SlackMessage, type SlackSim, type SlackView } from './slack-sim.js';

export interface BotReply {
  status: number;
  body: string;
  json: unknown;
}

/** What a user "types" into a field: plain text, a selected value (+label), or checked values. */
export type FieldInput = string | { value: string; label?: string } | { checked: string[] };

/** The parts of a Block Kit element the driver reads. */
interface Element {
  type: string;
  action_id: string;
  value?: string;
  initial_value?: string;
  initial_option?: unknown;
  initial_options?: unknown[];
  /** An overflow menu's options. */
  options?: Array<{ value: string; text: unknown }>;
}
type Block = { type: string; block_id?: string; element?: Element; elements?: Element[]; accessory?: Element };

/** Where trigger ids come from: the stand-in in this process, or one in another process. */
export type TriggerSource = Pick<SlackSim, 'issueTrigger'> & { users?: SlackSim['users'] };

/** Triggers from a Slack stand-in running in another process (`vmbot slack-sim`). */
export function remoteTriggers(simUrl: string): { issueTrigger(user: string): Promise<string> } {
  return {
    async issueTrigger(user: string) {
      const res = await request(`${simUrl.replace(/\/api\/?$/, '')}/__sim/trigger`, { method: 'POST', body: JSON.stringify({ user }) });
      return ((await res.body.json()) as { trigger_id: string }).trigger_id;
    },
  };
}

export class SlackDriver {
  /** The user's home team as the stand-in knows it (Slack Connect users have another). */
  #teamOf(user: string): string {
    return this.slack?.users?.get(user)?.team_id ?? SLACK_SIM.team;
  }

  constructor(
    readonly botUrl: string,
    readonly slack: SlackSim,
    readonly signingSecret = SLACK_SIM_SIGNING_SECRET,
    readonly triggers: { issueTrigger(user: string): string | Promise<string> } = slack,
  ) {}

  /** POST to the bot's /slack/events, signed (or deliberately mis-signed for tests). */
  async send(body: string, contentType: string, options: { signature?: string; timestamp?: number; retryNum?: number } = {}): Promise<BotReply> {
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const signature = options.signature ?? `v0=${createHmac('sha256', this.signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    const res = await request(`${this.botUrl}/slack/events`, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': signature,
        ...(options.retryNum ? { 'x-slack-retry-num': String(options.retryNum), 'x-slack-retry-reason': 'http_timeout' } : {}),
      },
      body,
    });
    const text = await res.body.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, body: text, json };
  }

  sendPayload(payload: unknown, options: { retryNum?: number } = {}): Promise<BotReply> {
    return this.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded', options);
  }

  /** `/vm-create <text>` typed by `user` in `channel`. */
  async command(
    user: string,
    text: string,
    channel: string = SLACK_SIM.generalChannel,
    options: { signature?: string; timestamp?: number; triggerId?: string } = {},
  ): Promise<BotReply> {
    const trigger = options.triggerId ?? (await this.triggers.issueTrigger(user));
    const body = new URLSearchParams({
      token: 'deprecated-verification-token',
      team_id: SLACK_SIM.team,
      team_domain: 'sim',
      channel_id: channel,
      channel_name: 'general',
      user_id: user,
      user_name: this.slack?.users?.get(user)?.name ?? user,
      command: '/vm-create',
      text,
      api_app_id: 'A0VMBOT',
      response_url: 'https://hooks.slack.test/commands/T0SIMTEAM/1/x',
      trigger_id: trigger,
    }).toString();
    return this.send(body, 'application/x-www-form-urlencoded', options);
  }

  /** A button click on a message (approval channel, thread, DM). */
  async clickMessageButton(user: string, message: SlackMessage, actionId: string, options: { retryNum?: number } = {}): Promise<BotReply> {
    const button = findElement(message.blocks as Block[], actionId);
    if (!button) throw elementMissing(`Message ${message.ts} in ${message.channel} has no ${actionId} button.`);
    const trigger = await this.triggers.issueTrigger(user);
    return this.sendPayload(
      {
        type: 'block_actions',
        user: { id: user, username: this.slack.users.get(user)?.name, team_id: this.#teamOf(user) },
        api_app_id: 'A0VMBOT',
        team: { id: SLACK_SIM.team },
        trigger_id: trigger,
        container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
        channel: { id: message.channel },
        message: { ts: message.ts, text: message.text, blocks: message.blocks, ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}) },
        actions: [{ type: 'button', action_id: actionId, block_id: button.block_id, value: button.element.value, action_ts: String(Date.now() / 1000) }],
      },
      options,
    );
  }

  /** An option picked from a menu on a message (an overflow, or a select such as "More…"): Slack sends the option. */
  async pickMessageOption(user: string, message: SlackMessage, actionId: string, optionValue: string): Promise<BotReply> {
    const menu = findElement(message.blocks as Block[], actionId);
    const option = menu?.element.options?.find((o) => o.value === optionValue);
    if (!menu || !option) throw elementMissing(`Message ${message.ts} in ${message.channel} has no ${actionId} menu with the option ${optionValue}.`);
    return this.sendPayload({
      type: 'block_actions',
      user: { id: user, username: this.slack.users.get(user)?.name, team_id: this.#teamOf(user) },
      api_app_id: 'A0VMBOT',
      team: { id: SLACK_SIM.team },
      trigger_id: await this.triggers.issueTrigger(user),
      container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
      channel: { id: message.channel },
      message: { ts: message.ts, text: message.text, blocks: message.blocks, ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}) },
      actions: [{ type: menu.element.type, action_id: actionId, block_id: menu.block_id, selected_option: option, action_ts: String(Date.now() / 1000) }],
    });
  }

  /** A button click in App Home (no channel). */
  clickHomeButton(user: string, view: SlackView, actionId: string, value: string): Promise<BotReply> {
    const button = findElement((view.view.blocks ?? []) as Block[], actionId, value);
    if (!button) throw elementMissing(`The home view has no ${actionId} button for ${value}.`);
    return this.#viewAction(user, view, {}, { type: 'button', action_id: actionId, block_id: button.block_id, value, action_ts: String(Date.now() / 1000) });
  }

  /** An action inside the open modal (buttons, or a select with dispatch_action; `field` picks the block when several share an action id). */
  modalAction(
    user: string,
    view: SlackView,
    actionId: string,
    input: { value?: string; selected?: string; field?: string } = {},
    typed: Record<string, FieldInput> = {},
  ): Promise<BotReply> {
    const blocks = ((view.view.blocks ?? []) as Block[]).filter((b) => input.field === undefined || b.block_id?.split('.')[0] === input.field);
    const found = findElement(blocks, actionId, input.value);
    if (!found) throw elementMissing(`The modal has no element ${actionId}.`);
    const action =
      found.element.type === 'button'
        ? { type: 'button', action_id: actionId, block_id: found.block_id, value: found.element.value }
        : {
            type: found.element.type,
            action_id: actionId,
            block_id: found.block_id,
            selected_option: { value: input.selected, text: { type: 'plain_text', text: input.selected } },
          };
    // Like Slack, the state sent with a select's action already holds the new choice.
    const withChoice = found.element.type === 'button' || input.selected === undefined ? typed : { [found.block_id]: { value: input.selected }, ...typed };
    return this.#viewAction(user, view, stateOf(view, withChoice), action);
  }

  async #viewAction(user: string, view: SlackView, values: Record<string, unknown>, action: Record<string, unknown>): Promise<BotReply> {
    return this.sendPayload({
      type: 'block_actions',
      user: { id: user, team_id: this.#teamOf(user) },
      team: { id: SLACK_SIM.team },
      trigger_id: await this.triggers.issueTrigger(user),
      container: { type: 'view', view_id: view.id },
      view: { ...view.view, id: view.id, hash: view.hash, state: { values } },
      actions: [action],
    });
  }

  /** Submit the open modal with what the user typed over its initial values. */
  async submit(user: string, view: SlackView, typed: Record<string, FieldInput> = {}, options: { retryNum?: number } = {}): Promise<BotReply> {
    const trigger = await this.triggers.issueTrigger(user);
    const reply = await this.sendPayload(
      {
        type: 'view_submission',
        user: { id: user, team_id: this.#teamOf(user) },
        team: { id: SLACK_SIM.team },
        api_app_id: 'A0VMBOT',
        trigger_id: trigger,
        view: { ...view.view, id: view.id, hash: view.hash, team_id: SLACK_SIM.team, state: { values: stateOf(view, typed) } },
      },
      options,
    );
    // Slack closes the modal when the bot answers with an empty body (no errors).
    if (reply.status === 200 && (!reply.body || !(reply.json as { response_action?: string } | undefined)?.response_action)) this.slack?.closeView(view.id);
    return reply;
  }

  /** What Slack asks when a user opens an external select and types `query`. */
  options(user: string, view: SlackView, field: string, query = ''): Promise<BotReply> {
    const block = ((view.view.blocks ?? []) as Block[]).find((b) => b.block_id?.split('.')[0] === field);
    if (!block?.element) throw elementMissing(`The modal has no field ${field}.`);
    return this.sendPayload({
      type: 'block_suggestion',
      user: { id: user, team_id: this.#teamOf(user) },
      team: { id: SLACK_SIM.team },
      api_app_id: 'A0VMBOT',
      action_id: block.element.action_id,
      block_id: block.block_id,
      value: query,
      container: { type: 'view', view_id: view.id },
      view: { ...view.view, id: view.id, hash: view.hash },
    });
  }

  appHomeOpened(user: string): Promise<BotReply> {
    const body = JSON.stringify({
      token: 'deprecated',
      team_id: SLACK_SIM.team,
      api_app_id: 'A0VMBOT',
      type: 'event_callback',
      event_id: `Ev${Date.now()}`,
      event_time: Math.floor(Date.now() / 1000),
      event: { type: 'app_home_opened', user, channel: `D${user.slice(1)}`, tab: 'home', event_ts: String(Date.now() / 1000) },
    });
    return this.send(body, 'application/json');
  }
}

function findElement(blocks: Block[], actionId: string, value?: string): { block_id: string; element: Element } | undefined {
  for (const block of blocks) {
    const elements = block.type === 'actions' ? (block.elements ?? []) : block.element ? [block.element] : block.accessory ? [block.accessory] : [];
    for (const element of elements) {
      if (element.action_id === actionId && (value === undefined || element.value === undefined || element.value === value))
        return { block_id: block.block_id ?? '', element };
    }
  }
  return undefined;
}

/**
 * `view.state.values` as Slack would send it: every input block, its initial value unless the
 * user typed something. Fields are named by block id without the `.generation` suffix
 * (`name`, `drive_size_0`); a key with the full block id works too.
 */
export function stateOf(view: SlackView, typed: Record<string, FieldInput>): Record<string, Record<string, unknown>> {
  const values: Record<string, Record<string, unknown>> = {};
  for (const block of (view.view.blocks ?? []) as Block[]) {
    if (block.type !== 'input' || !block.block_id || !block.element) continue;
    const el = block.element;
    const key = block.block_id.split('.')[0]!;
    const input = typed[block.block_id] ?? typed[key];
    let state: Record<string, unknown>;
    switch (el.type) {
      case 'plain_text_input':
      case 'number_input':
        state = { type: el.type, value: typeof input === 'string' ? input : (el.initial_value ?? null) };
        break;
      case 'static_select':
      case 'radio_buttons':
      case 'external_select': {
        const chosen =
          input && typeof input === 'object' && 'value' in input
            ? { value: input.value, text: { type: 'plain_text', text: input.label ?? input.value } }
            : typeof input === 'string'
              ? { value: input, text: { type: 'plain_text', text: input } }
              : (el.initial_option ?? null);
        state = { type: el.type, selected_option: chosen };
        break;
      }
      case 'checkboxes':
        state = {
          type: el.type,
          selected_options:
            input && typeof input === 'object' && 'checked' in input
              ? input.checked.map((v) => ({ value: v, text: { type: 'plain_text', text: v } }))
              : (el.initial_options ?? []),
        };
        break;
      default:
        state = { type: el.type };
    }
    values[block.block_id] = { [el.action_id]: state };
  }
  return values;
}

/** The bot's message or view lacks what the driver was told to use (the script and the bot disagree). */
function elementMissing(sentence: string): CodedError {
  return new CodedError('SIM_ELEMENT_MISSING', sentence);
}
