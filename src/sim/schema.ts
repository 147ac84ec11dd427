/**
 * The simulator's schema: which tables it keeps, how their fields point into each other, where
 * each table's keys start, and the error every rule throws (VergeOS's status and `err` text).
 */
export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    readonly err: string,
  ) {
    super(err);
  }
}

export interface SimTiming {
  /** How long an `import` or `clone` drive stays `importing`. */
  importMs: number;
  /** starting → running. */
  startMs: number;
  /** stopping → stopped after an ACPI poweroff. */
  stopMs: number;
  /** running → its NICs without a static address report the one the guest got (VergeOS learns it some time after boot). */
  addressMs: number;
}

export interface SimBehaviour {
  /** Status for a duplicate VM name: 409 on current releases, 422 on older ones. */
  nameTakenStatus: 409 | 422;
  /** Status for a successful DELETE: 200, or 204 on some releases. */
  deleteStatus: 200 | 204;
}

export const TABLES = [
  'clusters',
  'vnets',
  'files',
  'storage_tiers',
  'resource_groups',
  'node_nvidia_vgpu_devices',
  'vms',
  'machines',
  'machine_status',
  'machine_drives',
  'machine_drive_status',
  'machine_nics',
  'machine_devices',
  'machine_snapshots',
  'cluster_status',
  'system',
  // VergeOS's own recipes (recipes-seed.ts, recipe-rules.ts).
  'catalog_repositories',
  'catalogs',
  'vm_recipes',
  'recipe_sections',
  'recipe_questions',
  'vm_recipe_instances',
  'vm_recipe_logs',
] as const;
export type TableName = (typeof TABLES)[number];

/** Which table a foreign-key field points into, for `a#b#c` field joins. */
export const FOREIGN_KEYS: Record<string, TableName> = {
  machine: 'machines',
  status: 'machine_status',
  vm: 'vms',
  cluster: 'clusters',
  vnet: 'vnets',
  media_source: 'files',
  resource_group: 'resource_groups',
  snap_machine: 'machines',
};

/** Where a field of one table points elsewhere than FOREIGN_KEYS says (a drive's status row). */
export const TABLE_FOREIGN_KEYS: Partial<Record<TableName, Record<string, TableName>>> = {
  machine_drives: { status: 'machine_drive_status' },
  vm_recipes: { catalog: 'catalogs' },
  catalogs: { repository: 'catalog_repositories' },
  recipe_questions: { section: 'recipe_sections' },
  vm_recipe_instances: { recipe: 'vm_recipes' },
};

/** Where each table's keys start, so keys of different tables never coincide. */
export const FIRST_KEY: Partial<Record<TableName, number>> = {
  vms: 40,
  machines: 50,
  machine_status: 300,
  machine_drives: 1000,
  machine_drive_status: 5000,
  machine_nics: 2000,
  machine_devices: 1,
  machine_snapshots: 700,
  recipe_sections: 500,
  recipe_questions: 800,
  vm_recipe_instances: 1,
  vm_recipe_logs: 100,
};
