/** What an extension means: `by` adds to the current end, `until` sets it, and a VM kept until deleted gets a lease only when asked. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { vmIdOf, type RunRecord } from '../../src/store/records.js';
import { leasesOn, provisioningRig, type ProvisioningRig, recipeSpec } from '../helpers/core.js';

const DAY = 86_400_000;

describe('extending a lease', () => {
  let rig: ProvisioningRig;
  let now: number;
  let leased: RunRecord;
  let forever: RunRecord;
  const leases = () => leasesOn(rig, { now: () => now });
  const vmOf = (run: RunRecord) => rig.store.getVm(vmIdOf(run.id))!;
  const endOf = (run: RunRecord) => vmOf(run).lease?.endsAt;
  let leasedEnd: string;
  const audit = async () =>
    (await readFile(join(rig.dir, 'audit.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; detail?: string; vmName?: string });

  beforeEach(async () => {
    rig = await provisioningRig();
    const one = await rig.provisioner.createRun(await recipeSpec('web-server', 'leased-01'), { actor: 'U0ALICE', lease: { forMs: 7 * DAY, maxMs: 30 * DAY } });
    leased = await rig.provisioner.execute(one.id);
    const two = await rig.provisioner.createRun(await recipeSpec('web-server', 'forever-01'), { actor: 'U0ALICE' });
    forever = await rig.provisioner.execute(two.id);
    expect([leased.state, forever.state, vmOf(forever).lease]).toEqual(['succeeded', 'succeeded', undefined]);
    leasedEnd = vmOf(leased).lease!.endsAt!;
    now = Date.parse(leasedEnd) - 7 * DAY; // the lease ends in 7 days
  });
  afterEach(() => rig.close());

  it('`by` adds to the current end: 7 days more on a lease ending in 7 days ends in 14', async () => {
    const end = Date.parse(leasedEnd);
    const first = await leases().extend(leased.id, { by: 7 * DAY }, 'U0ALICE');
    expect(first).toMatchObject({ ok: true, endsAt: new Date(end + 7 * DAY).toISOString(), was: leasedEnd });
    // Again: from the new end, not from now.
    now += DAY;
    expect(await leases().extend(leased.id, { by: 2 * DAY }, 'U0ALICE')).toMatchObject({ ok: true, endsAt: new Date(end + 9 * DAY).toISOString() });
    expect(endOf(leased)).toBe(new Date(end + 9 * DAY).toISOString());
    expect((await audit()).filter((r) => r.action === 'lease.extended').map((r) => r.detail)).toEqual([
      `lease ends ${new Date(end + 7 * DAY).toISOString()} (was ${new Date(end).toISOString()})`,
      `lease ends ${new Date(end + 9 * DAY).toISOString()} (was ${new Date(end + 7 * DAY).toISOString()})`,
    ]);
  });

  it('`until` (or a Date) sets the end, earlier or later', async () => {
    const sooner = new Date(now + 2 * DAY);
    expect(await leases().extend(leased.id, { until: sooner }, 'U0ALICE')).toMatchObject({ ok: true, endsAt: sooner.toISOString() });
    const later = new Date(now + 20 * DAY);
    expect(await leases().extend(leased.id, later, 'U0ALICE')).toMatchObject({ ok: true, endsAt: later.toISOString() });
    expect(endOf(leased)).toBe(later.toISOString());
  });

  it('the maximum applies to the new end, counted from now; a lead may allow beyond it', async () => {
    // Ends in 7 days, at most 30 from now: 23 more fit, 24 do not.
    const refused = await leases().extend(leased.id, { by: 24 * DAY }, 'U0ALICE');
    expect(refused).toEqual({
      ok: false,
      code: 'beyond_max',
      reason: `that is beyond its maximum lease of 30 days from now (until ${new Date(now + 30 * DAY).toISOString()}); a lead has to allow longer`,
    });
    expect(endOf(leased)).toBe(leasedEnd);
    expect(await leases().extend(leased.id, { by: 23 * DAY }, 'U0ALICE')).toMatchObject({ ok: true, endsAt: new Date(now + 30 * DAY).toISOString() });
    expect(await leases().extend(leased.id, { by: 5 * DAY }, 'U0LEAD', { beyondMax: true })).toMatchObject({
      ok: true,
      endsAt: new Date(now + 35 * DAY).toISOString(),
    });
  });

  it('a new end in the past is refused', async () => {
    now = Date.parse(leasedEnd) + 3 * DAY; // ended 3 days ago
    const end = Date.parse(leasedEnd);
    expect(await leases().extend(leased.id, { by: 2 * DAY }, 'U0ALICE')).toEqual({
      ok: false,
      code: 'past',
      reason: `the new end must be in the future (${new Date(end + 2 * DAY).toISOString()} has passed)`,
    });
    expect(await leases().extend(leased.id, { by: 4 * DAY }, 'U0ALICE')).toMatchObject({ ok: true, endsAt: new Date(end + 4 * DAY).toISOString() });
  });

  it('never turns "kept until deleted" into a lease unless asked: refused without setLease, from now with it', async () => {
    for (const change of [{ by: 7 * DAY }, { until: new Date(now + 7 * DAY) }]) {
      expect(await leases().extend(forever.id, change, 'U0ALICE')).toEqual({
        ok: false,
        code: 'no_lease',
        reason:
          'forever-01 is kept until deleted, so it has no lease to extend; giving it one (powered off at its end, deleted 3 days later) has to be asked for explicitly',
      });
    }
    expect(vmOf(forever).lease).toBeUndefined();
    expect(await leases().sweep()).toEqual([]);

    const set = await leases().extend(forever.id, { by: 7 * DAY }, 'U0ALICE', { setLease: true });
    expect(set).toMatchObject({ ok: true, endsAt: new Date(now + 7 * DAY).toISOString() });
    expect(set.ok && set.was).toBeUndefined();
    expect(vmOf(forever).lease).toEqual({ forMs: 7 * DAY, endsAt: new Date(now + 7 * DAY).toISOString(), reminded: [], outbox: [] });
    expect((await audit()).filter((r) => r.action === 'lease.extended' && r.vmName === 'forever-01').map((r) => r.detail)).toEqual([
      `lease ends ${new Date(now + 7 * DAY).toISOString()} (was kept until deleted)`,
    ]);
  });

  it('a VM being deleted or gone is not extended', async () => {
    await rig.store.updateVm(vmOf(leased).id, { version: vmOf(leased).version }, (v) => {
      v.state = 'gone';
      v.goneAt = new Date(now).toISOString();
    });
    expect(await leases().extend(leased.id, { by: DAY }, 'U0ALICE')).toEqual({ ok: false, code: 'no_vm', reason: 'leased-01 was deleted outside the bot' });
    await rig.store.updateVm(vmOf(forever).id, { version: vmOf(forever).version }, (v) => {
      v.state = 'deleting';
      v.deleting = { by: 'U0ALICE', at: new Date(now).toISOString() };
    });
    expect(await leases().extend(forever.id, { by: DAY }, 'U0ALICE', { setLease: true })).toEqual({
      ok: false,
      code: 'no_vm',
      reason: 'forever-01 is being deleted; its lease can no longer be extended',
    });
  });
});
