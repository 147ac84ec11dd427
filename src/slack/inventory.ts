/**
 * VergeOS choices for the modal's external selects, cached, and always answered within Slack's
 * 3 s: a fresh list if VergeOS answers within the deadline, the last good one if not, and an
 * empty list (logged) when there was never one.
 */
import type { Logger } from '../log.js';
import { formatBytes } from '../vmspec/units.js';
import type { VergeosApi } from '../vergeos/client.js';
import type { StorageTier } from '../vergeos/types.js';
import { VGPU_DEVICE_TYPE } from '../vergeos/enums.js';
import { TPM_CHOICE, type Choice, type OptionSource } from './views/request-modal.js';

export interface OptionGroup {
  label: string;
  options: Choice[];
}

/** "1.2 TiB free", and when thin disks promise more than the tier holds, "· 9 TiB allocated of 8 TiB". */
export function tierRoom(tier: Pick<StorageTier, 'free' | 'allocated' | 'capacity'>): string {
  const free = `${formatBytes(tier.free)} free`;
  return tier.capacity && tier.allocated > tier.capacity ? `${free} · ${formatBytes(tier.allocated)} allocated of ${formatBytes(tier.capacity)}` : free;
}

/** Network types workloads don't belong on (the notes: core and dmz). */
const HIDDEN_VNET_TYPES = new Set(['core', 'dmz']);

export class InventoryCache {
  readonly #api: VergeosApi;
  readonly #ttlMs: number;
  readonly #deadlineMs: number;
  readonly #logger: Logger | undefined;
  readonly #cache = new Map<OptionSource, { at: number; groups: OptionGroup[] }>();
  readonly #inflight = new Map<OptionSource, Promise<OptionGroup[]>>();
  /** Changes whenever cached labels may have changed (so views built from them can be cached). */
  version = 0;
  /** Uuids of vGPU pools, from the last resource group listing: their rows show vGPU settings. */
  #vgpuGroups = new Set<string>();

  constructor(options: { vergeos: VergeosApi; ttlMs?: number; deadlineMs?: number; logger?: Logger }) {
    this.#api = options.vergeos;
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#deadlineMs = options.deadlineMs ?? 2_000;
    this.#logger = options.logger;
  }

  /** Choices matching what the user typed (case-insensitive), at most 100 across groups. */
  async options(source: OptionSource, query: string): Promise<OptionGroup[]> {
    // A TPM is virtual: offered even when VergeOS is slow to list the groups.
    const groups = source === 'resource_group' ? [...(await this.#groups(source)), { label: 'Virtual', options: [TPM_CHOICE] }] : await this.#groups(source);
    const q = query.trim().toLowerCase();
    let budget = 100;
    const out: OptionGroup[] = [];
    for (const group of groups) {
      const matching = group.options.filter((o) => !q || o.label.toLowerCase().includes(q) || o.value.toLowerCase() === q).slice(0, budget);
      budget -= matching.length;
      if (matching.length) out.push({ label: group.label, options: matching });
      if (budget <= 0) break;
    }
    return out;
  }

  /** Whether a resource group (by uuid) is an NVIDIA vGPU pool, as last listed. */
  isVgpuGroup(uuid: string): boolean {
    return this.#vgpuGroups.has(uuid);
  }

  /** A label for a value from the cache only (never waits): for prefilling from recipes. */
  labelFor(source: OptionSource, value: string): string {
    if (source === 'resource_group' && value === TPM_CHOICE.value) return TPM_CHOICE.label;
    for (const group of this.#cache.get(source)?.groups ?? []) {
      const hit = group.options.find((o) => o.value === value);
      if (hit) return hit.label;
    }
    const noun: Record<OptionSource, string> = { cluster: 'Cluster', vnet: 'Network', tier: 'Tier', media_source: 'Media', resource_group: 'Device' };
    return source === 'resource_group' ? `${noun[source]} ${value.slice(0, 8)}…` : `${noun[source]} ${value}`;
  }

  /** Fill the cache in the background (at start-up), so the first modal has labels. */
  warm(): void {
    for (const source of ['cluster', 'vnet', 'tier', 'media_source', 'resource_group'] as const) void this.#groups(source).catch(() => undefined);
  }

  async #groups(source: OptionSource): Promise<OptionGroup[]> {
    const cached = this.#cache.get(source);
    if (cached && Date.now() - cached.at < this.#ttlMs) return cached.groups;
    let fetching = this.#inflight.get(source);
    if (!fetching) {
      fetching = this.#fetch(source).then(
        (groups) => {
          this.#cache.set(source, { at: Date.now(), groups });
          this.version++;
          return groups;
        },
        (err: unknown) => {
          this.#logger?.warn({ source, err: (err as Error).message }, 'could not load VergeOS choices');
          throw err;
        },
      );
      fetching.finally(() => this.#inflight.delete(source)).catch(() => undefined);
      this.#inflight.set(source, fetching);
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.#deadlineMs)));
    try {
      const fresh = await Promise.race([fetching.catch(() => undefined), deadline]);
      if (fresh) return fresh;
      if (cached) return cached.groups;
      this.#logger?.warn({ source }, 'VergeOS too slow for the options request; answered with no choices');
      return [];
    } finally {
      clearTimeout(timer);
    }
  }

  async #fetch(source: OptionSource): Promise<OptionGroup[]> {
    switch (source) {
      case 'cluster': {
        const clusters = (await this.#api.listClusters()).filter((c) => c.enabled);
        return [{ label: 'Clusters', options: clusters.map((c) => ({ value: c.key, label: `${c.name}${c.description ? ` — ${c.description}` : ''}` })) }];
      }
      case 'vnet': {
        const vnets = (await this.#api.listVnets()).filter((n) => n.enabled && !HIDDEN_VNET_TYPES.has(n.type));
        return [{ label: 'Networks', options: vnets.map((n) => ({ value: n.key, label: `${n.name} (${n.type})` })) }];
      }
      case 'tier': {
        const tiers = await this.#api.listStorageTiers();
        return [
          {
            label: 'Storage tiers',
            options: tiers.map((t) => ({ value: t.tier, label: `Tier ${t.tier}${t.description ? ` ${t.description}` : ''} — ${tierRoom(t)}` })),
          },
        ];
      }
      case 'media_source': {
        const files = await this.#api.listMediaFiles();
        const byType = (types: string[]) => files.filter((f) => types.includes(f.type)).map((f) => ({ value: f.key, label: f.name }));
        return [
          { label: 'ISO images', options: byType(['iso']) },
          { label: 'Disk images', options: byType(['qcow2', 'raw', 'vmdk', 'vhd', 'vhdx', 'ova', 'img']) },
        ].filter((g) => g.options.length);
      }
      case 'resource_group': {
        const groups = (await this.#api.listResourceGroups()).filter((g) => g.enabled);
        const vgpu = groups.filter((g) => g.type === VGPU_DEVICE_TYPE);
        const other = groups.filter((g) => g.type !== VGPU_DEVICE_TYPE);
        this.#vgpuGroups = new Set(vgpu.map((g) => g.uuid));
        return [
          { label: 'Passthrough devices', options: other.map((g) => ({ value: g.uuid, label: `${g.name} (${g.class || g.type})` })) },
          { label: 'NVIDIA vGPU', options: vgpu.map((g) => ({ value: g.uuid, label: g.name })) },
        ].filter((g) => g.options.length);
      }
    }
  }
}
