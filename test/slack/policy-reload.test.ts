/** A running bot whose policy file is replaced by a billion laughs or broken YAML: it stays up under the old policy, logs why, and /readyz says so. */
import { createHash } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyHolder, PolicyReload } from '../../src/policy/watch.js';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { startRig, textOf, until, type Rig } from '../helpers/bot.js';
import { captureLogger } from '../helpers/logs.js';
import { aliasedPolicy, laughsPolicy, laughsProblem } from '../helpers/yaml-floods.js';

const POLICY = `version: 1
rules:
  - name: no-big-ram
    when: { ram: { min: 100GiB } }
    deny: VMs over 100 GiB of RAM need a capacity review first.
`;
const DENIED = { 'name.0': 'Not allowed by the approval policy (rule no-big-ram): VMs over 100 GiB of RAM need a capacity review first.' };

/** As an editor saves: a new file renamed over the old, so the watcher never reads half of it. */
async function save(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

/** The first reload (by the watcher or SIGHUP) whose result passes `test`. */
function reloadWhere(holder: PolicyHolder, test: (r: PolicyReload) => boolean): Promise<PolicyReload> {
  return new Promise((resolve) => {
    const off = holder.onReload((r) => {
      if (!test(r)) return;
      off();
      resolve(r);
    });
  });
}

async function readyz(rig: Rig): Promise<{ status: number; body: { ready: boolean; warnings: Record<string, string> } }> {
  const res = await request(`${rig.driver.botUrl}/readyz`);
  return { status: res.statusCode, body: (await res.body.json()) as { ready: boolean; warnings: Record<string, string> } };
}

/** The form's answer to a 128 GiB web server: the old policy's deny rule, while it is in force. */
async function askForBigRam(rig: Rig, name: string): Promise<unknown> {
  await rig.driver.command(SLACK_SIM.requester, 'web-server');
  const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');
  rig.slack.closeView(modal.id);
  const reply = await rig.driver.submit(SLACK_SIM.requester, modal, { name, ram: '128GiB' });
  return (reply.json as { errors?: unknown } | undefined)?.errors;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('a refused policy reload in a running bot', () => {
  let rig: Rig;
  let policyFile: string;
  let logs: string[];
  beforeEach(async () => {
    const captured = captureLogger('warn');
    logs = captured.lines;
    rig = await startRig({ policy: POLICY, logger: captured.logger });
    policyFile = rig.policyFile;
  });
  afterEach(() => rig.close());

  it('keeps the old rules and stays ready, logs and shows why; a good edit (120 rules naming one group by alias) loads and clears it', async () => {
    const holder = rig.bot.ctx.policy;
    const good = holder.current.hash;
    await until(() => rig.bot.readiness.report().ready, 'ready');
    expect((await readyz(rig)).body.warnings).toEqual({});

    // A billion laughs, noticed by the watcher.
    const laughs = `${policyFile}:${laughsProblem(5)}`;
    const refused = reloadWhere(holder, (r) => !r.ok && r.problems[0] === laughs);
    await save(policyFile, laughsPolicy());
    expect(await refused).toEqual({ ok: false, problems: [laughs] });
    expect(holder.current.hash).toBe(good);
    expect(await askForBigRam(rig, 'big-01')).toEqual(DENIED);
    const ready = await readyz(rig);
    expect([ready.status, ready.body.ready]).toEqual([200, true]);
    expect(ready.body.warnings.policy).toMatch(
      new RegExp(
        `^${escape(`${policyFile} on disk is not in force: ${laughs}; refused at `)}\\S+, still enforcing the policy loaded at \\S+ \\(sha256 ${good}\\)$`,
      ),
    );
    expect(logs.map((l) => JSON.parse(l))).toContainEqual(
      expect.objectContaining({
        level: 50,
        msg: `the changed approval policy does not validate; the previous policy stays in force: ${laughs}`,
        problems: [laughs],
      }),
    );

    // Broken YAML, and SIGHUP as an operator would send it.
    const problem = `${policyFile}:7: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`;
    const broken = reloadWhere(holder, (r) => !r.ok && r.problems[0] === problem);
    await save(policyFile, `${POLICY}  - name: [unclosed\n`);
    process.kill(process.pid, 'SIGHUP');
    expect(await broken).toEqual({ ok: false, problems: [problem] });
    expect(holder.current.hash).toBe(good);
    expect(await askForBigRam(rig, 'big-02')).toEqual(DENIED);
    expect((await readyz(rig)).body.warnings.policy).toContain(`${policyFile} on disk is not in force: ${problem}; refused at `);
    expect(logs.map((l) => JSON.parse(l).msg)).toContain(`the changed approval policy does not validate; the previous policy stays in force: ${problem}`);

    // A good edit: 120 rules, each naming the leads by alias.
    const next = aliasedPolicy(120);
    const hash = createHash('sha256').update(next).digest('hex').slice(0, 16);
    const loaded = reloadWhere(holder, (r) => r.ok && r.hash === hash);
    await save(policyFile, next);
    await loaded;
    expect(holder.current.policy.rules).toHaveLength(120);
    expect(await readyz(rig)).toEqual({ status: 200, body: expect.objectContaining({ ready: true, warnings: {} }) });
    const before = rig.slack.channelMessages(SLACK_SIM.approvalChannel).length;
    await rig.driver.command(SLACK_SIM.requester, 'iso-install');
    const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');
    rig.slack.closeView(modal.id);
    expect((await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'iso-01' })).body).toBe('');
    const approval = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel)[before], 'the approval message');
    expect(textOf(approval)).toContain('rule *iso-needs-lead*');
    expect(rig.store.getRequest('REQ-1')).toMatchObject({ state: 'pending', policy: { rule: 'iso-needs-lead', decision: 'approve' } });
  });
});
