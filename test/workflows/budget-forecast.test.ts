import { afterEach, describe, expect, it, vi } from 'vitest';
import { gatherFacts } from '../../src/workflows/facts.js';
import { simAndClient } from '../helpers/vergeos.js';
import { RequestBudget } from '../../src/vergeos/budget.js';
import { SLACK_SIM } from '../../src/sim/slack-sim.js';
import { forecastWarning, provisioningCalls } from '../../src/workflows/budget-forecast.js';
import { recipeSpec } from '../helpers/core.js';
import { startRig, textOf, until, type Rig } from '../helpers/bot.js';
import { ManualClock } from '../helpers/manual-clock.js';

describe('the budget forecast', () => {
  it('counts the least calls a run makes: web-server is create, drive, NIC, power on', async () => {
    const spec = await recipeSpec('web-server', 'fc-1');
    expect(provisioningCalls([spec])).toBe(4);
    const gpu = await recipeSpec('gpu-workstation', 'fc-2');
    // gpu-workstation: its device groups looked at, create, two drives, a NIC, a GPU, and it stays off.
    expect(provisioningCalls([spec, gpu])).toBe(4 + 6);
    // cloud-image: create, an imported drive, a NIC, the wait for the import (a drive list at least), power on.
    const cloud = await recipeSpec('cloud-image', 'fc-3');
    expect(provisioningCalls([cloud])).toBe(2 + cloud.drives.length + cloud.nics.length + 1);
  });

  it('says nothing under a minute, and the pace in minutes or hours past it', () => {
    expect(forecastWarning(undefined, 10)).toBeUndefined();
    expect(forecastWarning({ calls: 40, waitMs: 59_000, perHour: 1000 }, 10)).toBeUndefined();
    expect(forecastWarning({ calls: 400, waitMs: 34 * 60_000 + 20_000, perHour: 1000 }, 100)).toBe(
      'VergeOS allows 1000 API calls an hour: these 100 VMs need 400, so the bot paces them and provisioning takes about 34 minutes (at the budget left now).',
    );
    expect(forecastWarning({ calls: 2500, waitMs: 2.46 * 3_600_000, perHour: 1000 }, 500)).toContain('takes about 2.5 hours');
  });

  it('a pre-flight past its deadline gives up its place in the budget: nothing it asked is sent later', async () => {
    const clock = new ManualClock();
    const budget = new RequestBudget({ perHour: 3_645, burst: 45, clock });
    const { sim, client, close } = await simAndClient({}, { budget });
    try {
      // A batch under way has the whole burst.
      for (let i = 0; i < 45; i++) void budget.take('provision');
      const facts = await gatherFacts(client, [await recipeSpec('web-server', 'late-1')], 50);
      expect(facts).toEqual({ kind: 'unknown', why: 'VergeOS did not answer the pre-flight checks within 0.1 s' });
      await vi.waitFor(() => expect(budget.waiting).toBe(0));
      await clock.advance(60_000);
      expect(sim.requests).toEqual([]);
    } finally {
      await close();
    }
  });

  describe('in the approval', () => {
    let rig: Rig;
    afterEach(() => rig.close());

    it('a batch that cannot fit the budget shows the lead how long it will take', async () => {
      // 60 calls an hour, 10 at once: pre-flight's reads take some, and 6 VMs × 4 calls wait 72 s each (the hour less the burst: 50 an hour).
      const budget = new RequestBudget({ perHour: 60, burst: 10, clock: new ManualClock() });
      rig = await startRig({ client: { budget } });
      await rig.driver.command(SLACK_SIM.requester, 'web-server');
      const modal = await until(() => rig.slack.openView(SLACK_SIM.requester), 'the modal');
      await rig.driver.submit(SLACK_SIM.requester, modal, { name: 'paced-{n}', count: '6' });
      const approval = await until(() => rig.slack.channelMessages(SLACK_SIM.approvalChannel).at(-1), 'the approval message');
      const left = budget.left;
      expect(left).toBeLessThan(10);
      expect(textOf(approval)).toContain(
        `VergeOS allows 60 API calls an hour: these 6 VMs need 24, so the bot paces them and provisioning takes about ${Math.round(((24 - left) * 72) / 60)} minutes (at the budget left now).`,
      );
    });
  });
});
