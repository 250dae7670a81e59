import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Location, Sensor } from '#contracts';
import { DATABASE_KINDS, openTestDatabase } from '../../../../test/support/database.js';
import { KyselyEntityRepository, LOCATIONS_TABLE, SENSORS_TABLE } from './kysely-entity.repository.js';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-02T00:00:00.000Z';

describe.each(DATABASE_KINDS)('KyselyEntityRepository on %s', (kind) => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
  });
  afterAll(() => database.close());

  const sensor = (id: string): Sensor => ({ id, name: id, type: 'temperature', createdAt: T0, updatedAt: T0 });

  it('creates once, reads, merges updates column by column, keeps the id, and removes', async () => {
    const sut = new KyselyEntityRepository<Sensor>(database.connection.db, SENSORS_TABLE);
    expect(await sut.create(sensor('a'))).toBe(true);
    expect(await sut.create({ ...sensor('a'), name: 'again' })).toBe(false);
    expect(await sut.get('a')).toEqual(sensor('a'));
    expect(await sut.update('a', { thresholds: { min: 1.5 }, updatedAt: T1 })).toEqual({ ...sensor('a'), thresholds: { min: 1.5 }, updatedAt: T1 });
    expect(await sut.update('a', { name: 'renamed', id: 'hijack' })).toMatchObject({ id: 'a', name: 'renamed', thresholds: { min: 1.5 } });
    expect(await sut.update('missing', { name: 'x' })).toBeNull();
    const full: Sensor = {
      id: 'b',
      name: 'B',
      type: 't',
      model: 'm',
      unit: 'C',
      locationId: 'l',
      ownerId: 'o',
      thresholds: { min: -1, max: 2.5 },
      createdAt: T0,
      updatedAt: T1,
    };
    await sut.create(full);
    expect(await sut.get('b')).toEqual(full);
    expect(await sut.count()).toBe(2);
    expect(await sut.remove('a')).toMatchObject({ id: 'a', name: 'renamed' });
    expect(await sut.remove('a')).toBeNull();
    expect(await sut.get('a')).toBeNull();
    expect(await sut.count()).toBe(1);
  });

  it('looks up many ids at once: each found entity once, whatever the list length (lists are padded to a few shapes)', async () => {
    const sut = new KyselyEntityRepository<Sensor>(database.connection.db, SENSORS_TABLE);
    for (const id of ['many-1', 'many-2', 'many-3', 'many-4', 'many-5']) await sut.create(sensor(id));
    const ids = (found: Sensor[]) => found.map((s) => s.id).sort();
    expect(ids(await sut.getMany(['many-3']))).toEqual(['many-3']);
    expect(ids(await sut.getMany(['many-1', 'many-2', 'many-5']))).toEqual(['many-1', 'many-2', 'many-5']);
    expect(ids(await sut.getMany(['many-4', 'absent', 'many-2', 'many-1', 'many-3']))).toEqual(['many-1', 'many-2', 'many-3', 'many-4']);
    expect(await sut.getMany(['absent'])).toEqual([]);
    expect(await sut.getMany([])).toEqual([]);
  });

  it('pages in id order with a cursor, the last page without one', async () => {
    const sut = new KyselyEntityRepository<Location>(database.connection.db, LOCATIONS_TABLE);
    for (const id of ['p-3', 'p-1', 'p-5', 'p-2', 'p-4']) await sut.create({ id, name: id, latitude: 48.1, longitude: -11.5, createdAt: T0, updatedAt: T0 });
    const first = await sut.list({ limit: 2 });
    expect(first).toEqual({
      items: [expect.objectContaining({ id: 'p-1', latitude: 48.1, longitude: -11.5 }), expect.objectContaining({ id: 'p-2' })],
      nextCursor: 'p-2',
    });
    const second = await sut.list({ limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((l) => l.id)).toEqual(['p-3', 'p-4']);
    expect(await sut.list({ limit: 2, cursor: second.nextCursor! })).toEqual({ items: [expect.objectContaining({ id: 'p-5' })], nextCursor: null });
    expect(await sut.list({ limit: 10, cursor: 'p-5' })).toEqual({ items: [], nextCursor: null });
  });
});
