import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Entity } from '#contracts';
import { RedisConnection } from '#redis';
import { InMemoryEntityRepository, type EntityRepository } from './entity-repository.js';
import { RedisEntityRepository } from './redis-entity.repository.js';

interface Thing extends Entity {
  name: string;
  limits?: { min?: number; max?: number };
}

let redis: RedisConnection;
let run = 0;
beforeAll(async () => {
  redis = await RedisConnection.connect({ url: 'redis://127.0.0.1:6379', keyPrefix: `spec:entities:${process.pid}:${Date.now()}:` });
});
afterAll(() => redis.close());

describe.each<[string, () => EntityRepository<Thing>]>([
  ['InMemoryEntityRepository', () => new InMemoryEntityRepository<Thing>()],
  ['RedisEntityRepository', () => new RedisEntityRepository<Thing>(redis, `things-${++run}`)],
])('%s', (_name, create) => {
  const thing = (id: string): Thing => ({ id, name: id, createdAt: 't0', updatedAt: 't0' });

  it('creates once, reads, lists, merges updates and removes', async () => {
    const sut = create();
    expect(await sut.create(thing('a'))).toBe(true);
    expect(await sut.create({ ...thing('a'), name: 'again' })).toBe(false);
    expect(await sut.get('a')).toEqual(thing('a'));
    expect(await sut.update('a', { limits: { min: 1.5 }, updatedAt: 't1' })).toEqual({ ...thing('a'), limits: { min: 1.5 }, updatedAt: 't1' });
    expect(await sut.update('a', { name: 'renamed', id: 'hijack' } as Partial<Thing>)).toMatchObject({ id: 'a', name: 'renamed', limits: { min: 1.5 } });
    expect(await sut.update('missing', { name: 'x' })).toBeNull();
    await sut.create(thing('b'));
    expect((await sut.list()).map((t) => t.id).sort()).toEqual(['a', 'b']);
    expect(await sut.remove('a')).toMatchObject({ id: 'a', name: 'renamed' });
    expect(await sut.remove('a')).toBeNull();
    expect(await sut.get('a')).toBeNull();
  });
});
