export { startVergeosSim, VergeosSim, SIM_DEFAULT_API_KEY, SIM_READONLY_API_KEY, SIM_DEFAULT_USER } from './vergeos-sim.js';
export type { VergeosSimOptions, SimRequestRecord, SimRole } from './vergeos-sim.js';
export type { FaultRuleInput } from './faults.js';
export * from './inventory.js';
export { dhcpAddress } from './state.js';
