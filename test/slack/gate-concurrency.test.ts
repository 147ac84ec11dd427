/**
 * Eight submissions in flight at once, through the real Bolt app over signed HTTP, admit exactly
 * what eight in a row would: per-person limits, a quota behind an auto rule, and a name. On the
 * embedded store and on PostgreSQL.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { SLACK_SIM, type SlackView } from '../../src/sim/slack-sim.js';
import { startRig, until, type Rig } from '../helpers/bot.js';

const QUOTA_POLICY = `version: 1
quotas:
  per_user: { vcpu: 4, vms: 1 }
rules:
  - name: small-auto
    when: { vcpu: { max: 4 } }
    within_quota: true
    auto: true
`;

type Reply = { body: string; json: unknown };

/** Eight forms of `recipe`, opened one after another (each its own view), submitted all at once. */
async function eightAtOnce(rig: Rig, recipe: string, name: (i: number) => string): Promise<Reply[]> {
  const forms: SlackView[] = [];
  for (let i = 0; i < 8; i++) {
    await rig.driver.command(SLACK_SIM.requester, recipe);
    forms.push(
      await until(() => (rig.slack.openView(SLACK_SIM.requester)?.id !== forms.at(-1)?.id ? rig.slack.openView(SLACK_SIM.requester) : undefined), 'a form'),
    );
  }
  return Promise.all(forms.map((form, i) => rig.driver.submit(SLACK_SIM.requester, form, { name: name(i) })));
}

const refusals = (replies: Reply[]) => replies.filter((r) => r.body !== '').map((r) => (r.json as { errors: Record<string, string> }).errors['name.0']!);

for (const backend of ['lowdb', 'postgres'] as const) {
  describe(`eight concurrent submissions (${backend})`, () => {
    let postgres: TestPostgres | undefined;
    let rig: Rig;
    beforeAll(async () => {
      if (backend === 'postgres') postgres = await startPostgres();
    });
    afterAll(async () => {
      await postgres?.stop();
    });
    afterEach(() => rig.close());

    async function open(env: Record<string, string>, policy?: string): Promise<Rig> {
      return startRig({ env, ...(policy ? { policy } : {}), ...(postgres ? { databaseUrl: await postgres.database() } : {}) });
    }

    it('VM_MAX_PENDING_PER_USER=2 files exactly two', async () => {
      rig = await open({ VM_MAX_PENDING_PER_USER: '2', VM_SUBMISSIONS_PER_HOUR: '100' });
      const replies = await eightAtOnce(rig, 'cloud-image', (i) => `pend-${i}`);
      expect(replies.filter((r) => r.body === '')).toHaveLength(2);
      expect(refusals(replies)).toHaveLength(6);
      for (const refusal of refusals(replies))
        expect(refusal).toMatch(/^You have 2 requests waiting for a decision \(REQ-\d, REQ-\d\), the most one person may have at once \(2\)/);
      await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel).length === 2, 'two approval messages');
      expect(rig.store.listRequests().map((r) => r.state)).toEqual(['pending', 'pending']);
    });

    it('VM_SUBMISSIONS_PER_HOUR=3 files exactly three', async () => {
      rig = await open({ VM_MAX_PENDING_PER_USER: '100', VM_SUBMISSIONS_PER_HOUR: '3' });
      const replies = await eightAtOnce(rig, 'cloud-image', (i) => `hour-${i}`);
      expect(replies.filter((r) => r.body === '')).toHaveLength(3);
      for (const refusal of refusals(replies)) expect(refusal).toMatch(/^You filed 3 requests in the last hour, the most allowed \(3 an hour\)/);
      expect(rig.store.listRequests()).toHaveLength(3);
    });

    it('a quota of one VM behind an auto rule lets exactly one through without a lead', async () => {
      rig = await open({ VM_MAX_PENDING_PER_USER: '100', VM_SUBMISSIONS_PER_HOUR: '100' }, QUOTA_POLICY);
      // cloud-image: 2 vCPU, within the auto rule's size; the quota allows one such VM.
      const replies = await eightAtOnce(rig, 'cloud-image', (i) => `quota-${i}`);
      expect(replies.every((r) => r.body === '')).toBe(true);
      await until(() => rig.store.listRequests().length === 8, 'eight filed');
      const requests = rig.store.listRequests();
      const auto = requests.filter((r) => r.policy?.decision === 'auto');
      expect(auto).toHaveLength(1);
      expect(requests.filter((r) => r.policy?.rule === 'default')).toHaveLength(7);
      for (const r of requests.filter((x) => x.policy?.rule === 'default'))
        expect(r.policy!.quota).toEqual(['Quota: 2 of 4 vCPU, 1 of 1 VMs now; 4 of 4 vCPU, 2 of 1 VMs with this (over: 2 of 1 VMs)']);
      await until(() => rig.store.getRequest(auto[0]!.id)!.state === 'succeeded', 'the one auto-approved VM');
    });

    it('one name asked for eight times is filed once', async () => {
      rig = await open({ VM_MAX_PENDING_PER_USER: '100', VM_SUBMISSIONS_PER_HOUR: '100' });
      const replies = await eightAtOnce(rig, 'cloud-image', () => 'same-name');
      expect(replies.filter((r) => r.body === '')).toHaveLength(1);
      for (const refusal of refusals(replies)) expect(refusal).toMatch(/^same-name is already asked for by REQ-1, which is not finished; pick another name$/);
      expect(rig.store.listRequests()).toHaveLength(1);
    });
  });
}
