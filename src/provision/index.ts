export * from './provisioner.js';
export * from './messages.js';
export * from './result.js';
export { lookUpStep } from './reconcile.js';
