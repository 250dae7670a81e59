import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Sensor } from '#contracts';
import { openTestDatabase } from '../../../../test/support/database.js';
import { CachedEntityRepository } from './cached-entity.repository.js';
import { KyselyEntityRepository, SENSORS_TABLE } from './kysely-entity.repository.js';

const T0 = '2026-01-01T00:00:00.000Z';
const sensor = (id: string, name = id): Sensor => ({ id, name, type: 't', createdAt: T0, updatedAt: T0 });

describe('CachedEntityRepository over the database', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let direct: KyselyEntityRepository<Sensor>;
  beforeAll(async () => {
    database = await openTestDatabase('sqlite');
    direct = new KyselyEntityRepository<Sensor>(database.connection.db, SENSORS_TABLE);
  });
  afterAll(() => database.close());

  it('serves a read entity from memory until the TTL, then sees another writer’s change', async () => {
    const sut = new CachedEntityRepository(direct, { ttlMs: 200, maxEntries: 100 });
    await direct.create(sensor('c-1'));
    expect(await sut.get('c-1')).toMatchObject({ name: 'c-1' });
    // Another instance renames it behind this cache's back.
    await direct.update('c-1', { name: 'renamed' });
    expect(await sut.get('c-1')).toMatchObject({ name: 'c-1' });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await sut.get('c-1')).toMatchObject({ name: 'renamed' });
  });

  it('reflects its own writes at once and does not cache absence', async () => {
    const sut = new CachedEntityRepository(direct, { ttlMs: 60_000, maxEntries: 100 });
    expect(await sut.get('c-2')).toBeNull();
    await direct.create(sensor('c-2'));
    expect(await sut.get('c-2')).toMatchObject({ id: 'c-2' });
    expect(await sut.update('c-2', { name: 'mine' })).toMatchObject({ name: 'mine' });
    expect(await sut.get('c-2')).toMatchObject({ name: 'mine' });
    expect(await sut.remove('c-2')).toMatchObject({ id: 'c-2' });
    expect(await sut.get('c-2')).toBeNull();
  });

  it('creates an id once when a burst races to register it', async () => {
    const sut = new CachedEntityRepository(direct, { ttlMs: 60_000, maxEntries: 100 });
    const results = await Promise.all(Array.from({ length: 50 }, () => sut.create(sensor('c-3'))));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await sut.get('c-3')).toMatchObject({ id: 'c-3' });
    expect(await sut.create(sensor('c-3'))).toBe(false);
  });

  it('stays bounded: beyond maxEntries it starts over rather than grow', async () => {
    const sut = new CachedEntityRepository(direct, { ttlMs: 60_000, maxEntries: 3 });
    for (const id of ['b-1', 'b-2', 'b-3', 'b-4']) await sut.create(sensor(id));
    // b-1..b-3 filled it; b-4 cleared it and is alone. A direct change to b-1 is seen (not cached), to b-4 not.
    await direct.update('b-1', { name: 'changed' });
    await direct.update('b-4', { name: 'changed' });
    expect(await sut.get('b-1')).toMatchObject({ name: 'changed' });
    expect(await sut.get('b-4')).toMatchObject({ name: 'b-4' });
  });
});
