export { RedisConnection, type RedisConnectionOptions } from './redis-connection.js';
export { REDIS, RedisModule } from './redis.module.js';
