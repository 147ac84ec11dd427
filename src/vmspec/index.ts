export * from './schema.js';
export * from './validate.js';
export * from './recipes.js';
export * from './units.js';
