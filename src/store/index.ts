export * from './records.js';
export * from './store.js';
export * from './audit.js';
