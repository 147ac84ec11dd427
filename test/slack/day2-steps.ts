/**
 * Steps the day-2 Slack tests share: a policy with day-2 rules, a VM made through the bot (its
 * request auto-approved, its thread the approval message), `/vm-create mine`, a pick from a VM's
 * "More…" menu as Slack sends it, and a form submitted as Slack would (radio buttons too).
 */
import { expect } from 'vitest';
import { stateOf, type FieldInput } from '../../src/sim/slack-driver.js';
import { SLACK_SIM, type SlackEphemeral, type SlackMessage, type SlackView } from '../../src/sim/slack-sim.js';
import type { VmRecord } from '../../src/store/records.js';
import { startRig, until, type Rig } from '../helpers/bot.js';
import { fileRequest } from '../helpers/flows.js';

/** Resizes up to 8 vCPU within quota go through; bigger ones need a lead; the other changes go through; 4-vCPU VMs within quota too. */
export function day2Policy(vcpuQuota = 64): string {
  return `version: 1
quotas:
  per_user: { vcpu: ${vcpuQuota} }
rules:
  - name: small-resize
    when: { action: [resize], vcpu: { max: 8 } }
    within_quota: true
    auto: true
  - name: big-resize
    when: { action: [resize] }
    approve: { count: 1, from: [VM_APPROVERS] }
  - name: self-service
    when: { action: [disk_add, disk_grow, nic_add, snapshot_create, snapshot_restore, snapshot_delete] }
    auto: true
  - name: small-vms
    when: { vcpu: { max: 4 } }
    within_quota: true
    auto: true
`;
}

/** The clock the forms read (snapshot names and expiry): a fixed minute. */
export const NOW = Date.UTC(2031, 2, 1, 14, 5, 30);

export function startDay2Rig(vcpuQuota?: number): Promise<Rig> {
  return startRig({ policy: day2Policy(vcpuQuota), leaseNow: () => NOW });
}

/** A web-server VM (4 vCPU, 8 GiB, one 100 GiB disk, one NIC) of the requester, running; with its thread. */
export async function makeVm(rig: Rig, name: string): Promise<{ vm: VmRecord; thread: SlackMessage }> {
  const thread = await fileRequest(rig, name);
  const id = rig.store.requestsBy('requester', SLACK_SIM.requester).find((r) => r.spec.vm.name === name)!.id;
  await until(() => rig.store.getRequest(id)?.state === 'succeeded', 'the VM', 15_000);
  await rig.bot.idle();
  return { vm: rig.bot.ctx.provisioner.ownedVms().find((v) => v.name === name)!, thread };
}

/** `/vm-create mine` as `user` types it: the ephemeral list. */
export async function mine(rig: Rig, user = SLACK_SIM.requester): Promise<SlackEphemeral> {
  const before = rig.slack.ephemerals.length;
  await rig.driver.command(user, 'mine');
  // Other replies may land meanwhile (a change told when done): the list is the one counting VMs.
  return until(() => rig.slack.ephemerals.slice(before).find((e) => e.user === user && /VM\(s\)|no VMs/.test(e.text)), 'the list');
}

/** What `user` is told (ephemeral or DM) after `mark` ephemerals, as text. */
export function toldSince(rig: Rig, user: string, mark: number): string[] {
  return rig.slack.ephemerals
    .slice(mark)
    .filter((e) => e.user === user)
    .map((e) => e.text);
}

/** Picks `form` from the VM's "More…" menu on the list, as Slack sends a select's choice. */
export async function pickMore(rig: Rig, user: string, list: SlackEphemeral, form: string, runId: string): Promise<void> {
  const block = (list.blocks as Array<{ block_id?: string; elements?: Array<{ action_id: string; options?: Array<{ value: string; text: unknown }> }> }>).find(
    (b) => b.block_id === `vm.${runId}`,
  );
  const option = block?.elements?.find((e) => e.action_id === 'vm_more')?.options?.find((o) => o.value === `${form}:${runId}`);
  if (!option) throw new Error(`the list has no More… ${form} for ${runId}`);
  const reply = await rig.driver.sendPayload({
    type: 'block_actions',
    user: { id: user, team_id: SLACK_SIM.team },
    api_app_id: 'A0VMBOT',
    team: { id: SLACK_SIM.team },
    trigger_id: rig.slack.issueTrigger(user),
    container: { type: 'message', message_ts: list.message_ts, channel_id: list.channel, is_ephemeral: true },
    channel: { id: list.channel },
    message: { ts: list.message_ts, text: list.text, blocks: list.blocks },
    actions: [{ type: 'static_select', action_id: 'vm_more', block_id: block!.block_id, selected_option: option, action_ts: String(Date.now() / 1000) }],
  });
  expect(reply.status).toBe(200);
}

/** Opens `form` for the VM from a fresh list: the modal as Slack holds it. */
export async function openForm(rig: Rig, form: string, runId: string, user = SLACK_SIM.requester): Promise<SlackView> {
  const list = await mine(rig, user);
  const opened = rig.slack.views.size;
  await pickMore(rig, user, list, form, runId);
  return until(
    () => [...rig.slack.views.values()].slice(opened).find((v) => v.user === user && v.view.callback_id === `vm_change_${form}`),
    `the ${form} form`,
  );
}

/** The input blocks' initial values of a form, by block id (what it shows filled in). */
export function initialValues(view: SlackView): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const b of view.view.blocks as Array<{ type: string; block_id?: string; element?: Record<string, unknown> }>) {
    if (b.type !== 'input' || !b.block_id || !b.element) continue;
    const el = b.element;
    out[b.block_id] = el.initial_value ?? (el.initial_option as { value?: string } | undefined)?.value ?? null;
  }
  return out;
}

/**
 * Submits the form as Slack does: every input's value (initial unless typed); radio buttons as
 * picked in `radios`. Slack closes the form when the answer holds no errors.
 */
export async function submitForm(
  rig: Rig,
  user: string,
  view: SlackView,
  typed: Record<string, FieldInput> = {},
  radios: Record<string, string> = {},
): Promise<{ errors?: Record<string, string> }> {
  const values = stateOf(view, typed);
  for (const [block, value] of Object.entries(radios))
    values[block] = { value: { type: 'radio_buttons', selected_option: { value, text: { type: 'plain_text', text: value } } } };
  const reply = await rig.driver.sendPayload({
    type: 'view_submission',
    user: { id: user, team_id: SLACK_SIM.team },
    team: { id: SLACK_SIM.team },
    api_app_id: 'A0VMBOT',
    trigger_id: rig.slack.issueTrigger(user),
    view: { ...view.view, id: view.id, hash: view.hash, team_id: SLACK_SIM.team, state: { values } },
  });
  expect(reply.status).toBe(200);
  const json = reply.json as { response_action?: string; errors?: Record<string, string> } | undefined;
  if (json?.response_action === 'errors') return { errors: json.errors! };
  rig.slack.closeView(view.id);
  return {};
}

/** The replies posted in a VM's thread whose text starts with `prefix`. */
export function threadReplies(rig: Rig, thread: SlackMessage, prefix: string): SlackMessage[] {
  return rig.slack.thread(thread.channel, thread.ts).filter((m) => m.text.startsWith(prefix));
}

/** Audit-channel lines containing `part`. */
export function auditLines(rig: Rig, part: string): string[] {
  return rig.slack
    .channelMessages(SLACK_SIM.auditChannel)
    .map((m) => m.text)
    .filter((t) => t.includes(part));
}
