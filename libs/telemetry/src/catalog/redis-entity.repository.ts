import type { Entity } from '#contracts';
import type { RedisConnection } from '#redis';
import type { EntityRepository } from './entity-repository.js';

/** Merges a JSON patch into the stored JSON atomically; nil when absent. */
const UPDATE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return nil end
local entity = cjson.decode(raw)
for key, value in pairs(cjson.decode(ARGV[2])) do entity[key] = value end
entity.id = ARGV[1]
local encoded = cjson.encode(entity)
redis.call('HSET', KEYS[1], ARGV[1], encoded)
return encoded
`;
const REMOVE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then redis.call('HDEL', KEYS[1], ARGV[1]) end
return raw
`;

/** One hash per kind (`sensors`, `locations`): id -> JSON. */
export class RedisEntityRepository<T extends Entity> implements EntityRepository<T> {
  private readonly hash: string;

  constructor(
    private readonly redis: RedisConnection,
    kind: string,
  ) {
    this.hash = redis.key(kind);
  }

  async get(id: string): Promise<T | null> {
    const raw = await this.redis.client.hGet(this.hash, id);
    return raw ? (JSON.parse(raw) as T) : null;
  }

  async list(): Promise<T[]> {
    return (await this.redis.client.hVals(this.hash)).map((raw) => JSON.parse(raw) as T);
  }

  async create(entity: T): Promise<boolean> {
    return (await this.redis.client.hSetNX(this.hash, entity.id, JSON.stringify(entity))) === 1;
  }

  async update(id: string, patch: Partial<T>): Promise<T | null> {
    const raw = (await this.redis.client.eval(UPDATE, { keys: [this.hash], arguments: [id, JSON.stringify(patch)] })) as string | null;
    return raw ? (JSON.parse(raw) as T) : null;
  }

  async remove(id: string): Promise<T | null> {
    const raw = (await this.redis.client.eval(REMOVE, { keys: [this.hash], arguments: [id] })) as string | null;
    return raw ? (JSON.parse(raw) as T) : null;
  }
}
