export { startVergeosSim, VergeosSim, SIM_DEFAULT_API_KEY, SIM_READONLY_API_KEY, SIM_DEFAULT_USER } from './vergeos-sim.js';
export type { VergeosSimOptions, SimRequestRecord, SimRole } from './vergeos-sim.js';
export type { FaultRuleInput } from './faults.js';
export * from './inventory.js';
export { dhcpAddress } from './state.js';
export {
  DEBIAN_RECIPE_KEY,
  LAB_CATALOG_KEY,
  LOCAL_CATALOG_KEY,
  MARKETPLACE_CATALOG_KEY,
  ROCKY_RECIPE_KEY,
  UBUNTU_RECIPE_KEY,
  WINDOWS_RECIPE_KEY,
} from './recipes-seed.js';
