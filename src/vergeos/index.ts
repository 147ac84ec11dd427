export { VergeosClient, type VergeosApi } from './client.js';
export { VergeosError, isVergeosError, operatorMessage, VERGEOS_ERROR_CODES, type VergeosErrorCode } from './errors.js';
export type { VergeosAuth, VergeosClientOptions, VergeosTimeouts } from './transport.js';
export type * from './types.js';
