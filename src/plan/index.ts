export * from './plan.js';
export * from './render.js';
