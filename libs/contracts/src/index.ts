export * from './errors.js';
export * from './events.js';
export * from './identity.js';
export * from './topics.js';
export * from './mqtt.js';
export * from './simulation.js';
export * from './objects.js';
export * from './event-schemas.js';
