export * from './errors.js';
export * from './events.js';
export * from './identity.js';
export * from './topics.js';
