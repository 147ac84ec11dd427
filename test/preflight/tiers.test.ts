/**
 * A tier's free space is capacity − used, as every VergeOS client shows it. On a thin tier
 * allocation may pass capacity: pre-flight still lets a disk through that fits what is written,
 * warns the lead that the tier is over-committed, and the simulator (like VergeOS) takes the disk.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { preflightSpecs } from '../../src/preflight/check.js';
import { GIB, TIB, type VergeosSim } from '../../src/sim/index.js';
import { InventoryCache } from '../../src/slack/inventory.js';
import type { VergeosClient } from '../../src/vergeos/index.js';
import { storageTierSchema } from '../../src/vergeos/types.js';
import type { VmSpec } from '../../src/vmspec/schema.js';
import { recipeSpec } from '../helpers/core.js';
import { simAndClient } from '../helpers/vergeos.js';

/** One VM with one blank disk of `size` on `tier`, nothing else to check. */
async function diskSpec(name: string, size: number, tier: string): Promise<VmSpec> {
  const base = await recipeSpec('web-server', name);
  return { ...base, drives: [{ ...base.drives[0]!, media: 'disk', disksize: size, preferred_tier: tier as '1' }], nics: [], devices: [], power_on: false };
}

describe('storage tier room', () => {
  let sim: VergeosSim;
  let client: VergeosClient;
  let close: () => Promise<void>;

  beforeEach(async () => {
    ({ sim, client, close } = await simAndClient());
    // Tier 2 (8 TiB, 3 TiB written) is thin-provisioned past its capacity.
    sim.state.table('storage_tiers').get('2')!.allocated = 9 * TIB;
  });
  afterEach(() => close());

  const tier2 = () => sim.state.table('storage_tiers').get('2')!;

  it('reads free as capacity − used, keeping used and allocated', async () => {
    expect(storageTierSchema.parse({ $key: 2, tier: 2, description: 'SSD', capacity: 8 * TIB, used: 3 * TIB, allocated: 9 * TIB })).toEqual({
      key: '2',
      tier: '2',
      description: 'SSD',
      capacity: 8 * TIB,
      used: 3 * TIB,
      allocated: 9 * TIB,
      free: 5 * TIB,
    });
    expect((await client.listStorageTiers()).map((t) => [t.tier, t.free, t.used, t.allocated])).toEqual([
      ['1', 1.5 * TIB, 512 * GIB, 512 * GIB],
      ['2', 5 * TIB, 3 * TIB, 9 * TIB],
      ['3', 80 * GIB, 1 * TIB - 80 * GIB, 1 * TIB - 80 * GIB],
    ]);
  });

  it('pre-flight lets a disk onto an over-committed tier that has room by used, and warns the lead', async () => {
    const result = await preflightSpecs(client, [await diskSpec('thin-1', 500 * GIB, '2')]);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([
      'Storage tier 2 is over-committed: 9.49 TiB allocated of 8 TiB after this (3 TiB used); thin disks may fill it as they are written.',
    ]);
  });

  it('pre-flight refuses on used, with the reserve, and says what is used and allocated', async () => {
    const result = await preflightSpecs(client, [await diskSpec('big-1', 100 * GIB, '3')]);
    expect(result.errors).toEqual([
      {
        path: 'drives[0].disksize',
        message:
          'tier 3 has 28.8 GiB free (944 GiB used, 944 GiB allocated of 1 TiB; 5% kept in reserve); this VM needs 100 GiB: choose smaller disks, another tier or fewer VMs',
      },
    ]);
    const tier2Full = await preflightSpecs(client, [await diskSpec('big-2', 5 * TIB, '2')]);
    expect(tier2Full.errors.map((e) => e.message)).toEqual([
      'tier 2 has 4.6 TiB free (3 TiB used, 9 TiB allocated of 8 TiB; 5% kept in reserve); this VM needs 5 TiB: choose smaller disks, another tier or fewer VMs',
    ]);
  });

  it('warns when a tier will be nearly full by used, with its figures', async () => {
    const result = await preflightSpecs(client, [await diskSpec('near-1', 20 * GIB, '3')]);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual(['Storage tier 3 will be 94% full after this (60 GiB left; 944 GiB used, 944 GiB allocated of 1 TiB).']);
  });

  it('the simulator, as VergeOS, takes a thin disk on an over-committed tier (allocated grows, used does not) and refuses on used', async () => {
    const { vmKey, machineKey } = await client.createVm({ name: 'thin-vm', cluster: '1' });
    await client.addDrive({ machine: machineKey, media: 'disk', disksize: 500 * GIB, preferred_tier: '2' });
    expect([tier2().used, tier2().allocated]).toEqual([3 * TIB, 9 * TIB + 500 * GIB]);
    // An imported image is written: it counts in used too.
    await client.addDrive({ machine: machineKey, media: 'import', media_source: '123', preferred_tier: '2' });
    expect([tier2().used, tier2().allocated]).toEqual([3 * TIB + 2 * GIB, 9 * TIB + 502 * GIB]);
    const refused = await client.addDrive({ machine: machineKey, media: 'disk', disksize: 5 * TIB, preferred_tier: '2' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 507, vergeosMessage: 'Insufficient storage on tier 2' });
    await client.deleteVm(vmKey);
    expect([tier2().used, tier2().allocated]).toEqual([3 * TIB, 9 * TIB]);
  });

  it("the form's tier picker shows free, and says when the tier is over-committed", async () => {
    const cache = new InventoryCache({ vergeos: client });
    const [group] = await cache.options('tier', '');
    expect(group!.options.map((o) => o.label)).toEqual([
      'Tier 1 NVMe — 1.5 TiB free',
      'Tier 2 SSD — 5 TiB free · 9 TiB allocated of 8 TiB',
      'Tier 3 HDD archive — 80 GiB free',
    ]);
  });
});
