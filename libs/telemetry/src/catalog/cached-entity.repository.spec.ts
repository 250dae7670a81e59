import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Sensor } from '#contracts';
import { openTestDatabase } from '../../../../test/support/database.js';
import { CachedEntityRepository } from './cached-entity.repository.js';
import type { EntityRepository, PageQuery } from './entity-repository.js';
import { KyselyEntityRepository, SENSORS_TABLE } from './kysely-entity.repository.js';

const T0 = '2026-01-01T00:00:00.000Z';
const sensor = (id: string, name = id): Sensor => ({ id, name, type: 't', createdAt: T0, updatedAt: T0 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; !(await condition()); attempt++) {
    if (attempt > 100) throw new Error('condition not met within 1 s');
    await sleep(10);
  }
}

/** The real repository, counting lookups; it can fail them, or hold their answers back. */
class CountingRepository implements EntityRepository<Sensor> {
  readonly calls = { get: 0, getMany: [] as number[] };
  failing = false;
  private held: Promise<void> | null = null;

  constructor(private readonly inner: EntityRepository<Sensor>) {}

  /** Answers of lookups made from now on wait until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.held = new Promise((resolve) => (release = resolve));
    return () => {
      this.held = null;
      release();
    };
  }

  async get(id: string) {
    this.calls.get++;
    const held = this.held;
    const found = await this.inner.get(id);
    await held;
    return found;
  }
  async getMany(ids: readonly string[]) {
    this.calls.getMany.push(ids.length);
    if (this.failing) throw new Error('database away');
    const held = this.held;
    const found = await this.inner.getMany(ids);
    await held;
    return found;
  }
  list(page: PageQuery) {
    return this.inner.list(page);
  }
  count() {
    return this.inner.count();
  }
  create(entity: Sensor) {
    return this.inner.create(entity);
  }
  update(id: string, patch: Partial<Sensor>) {
    return this.inner.update(id, patch);
  }
  remove(id: string) {
    return this.inner.remove(id);
  }
}

describe('CachedEntityRepository over the database', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let direct: KyselyEntityRepository<Sensor>;
  beforeAll(async () => {
    database = await openTestDatabase('sqlite');
    direct = new KyselyEntityRepository<Sensor>(database.connection.db, SENSORS_TABLE);
  });
  afterAll(() => database.close());

  it('serves a read entity from memory until the TTL, then re-reads it in the background and sees another writer’s change', async () => {
    const sut = new CachedEntityRepository(direct, { ttlMs: 200, maxEntries: 100 });
    await direct.create(sensor('c-1'));
    expect(await sut.get('c-1')).toMatchObject({ name: 'c-1' });
    // Another instance renames it behind this cache's back.
    await direct.update('c-1', { name: 'renamed' });
    expect(await sut.get('c-1')).toMatchObject({ name: 'c-1' });
    await sleep(250);
    // Past the TTL the caller is not kept waiting: the old entity now, the re-read's answer next.
    expect(await sut.get('c-1')).toMatchObject({ name: 'c-1' });
    await until(async () => (await sut.get('c-1'))?.name === 'renamed');
    // Deleted by another instance: gone after the next re-read.
    await direct.remove('c-1');
    await sleep(250);
    await sut.get('c-1');
    await until(async () => (await sut.get('c-1')) === null);
  });

  it('looks up the ids asked for in one turn in one query, each id once, however many ask', async () => {
    const counting = new CountingRepository(direct);
    const sut = new CachedEntityRepository(counting, { ttlMs: 60_000, maxEntries: 10_000 });
    for (let i = 0; i < 600; i++) await direct.create(sensor(`m-${i}`));
    const ids = Array.from({ length: 1200 }, (_, i) => `m-${i % 800}`); // 600 present, 200 absent, each asked for 1-2 times
    const found = await Promise.all(ids.map((id) => sut.get(id)));
    expect(found.map((entity) => entity?.id ?? null)).toEqual(ids.map((id) => (Number(id.slice(2)) < 600 ? id : null)));
    // 800 distinct ids: two queries of at most 500, and no query per id.
    expect(counting.calls).toEqual({ get: 0, getMany: [500, 300] });
    // Now from memory (the absent ones are asked again).
    await Promise.all(ids.map((id) => sut.get(id)));
    expect(counting.calls.getMany).toEqual([500, 300, 200]);
  });

  it('keeps serving a stale entity while the database is away, and a lookup of an unknown id fails with its error', async () => {
    const flaky = new CountingRepository(direct);
    const sut = new CachedEntityRepository(flaky, { ttlMs: 100, maxEntries: 100 });
    await direct.create(sensor('f-1'));
    expect(await sut.get('f-1')).toMatchObject({ id: 'f-1' });
    flaky.failing = true;
    await sleep(150);
    for (let i = 0; i < 3; i++) {
      expect(await sut.get('f-1')).toMatchObject({ id: 'f-1' });
      await sleep(60);
    }
    // One failed re-read per TTL, not one per lookup.
    expect(flaky.calls.getMany.length).toBeLessThanOrEqual(3);
    await expect(sut.get('f-unknown')).rejects.toThrow('database away');
    flaky.failing = false;
    expect(await sut.get('f-unknown')).toBeNull();
  });

  it('does not hand a read that started before a removal to a lookup made after it', async () => {
    const held = new CountingRepository(direct);
    const sut = new CachedEntityRepository(held, { ttlMs: 50, maxEntries: 100 });
    await direct.create(sensor('d-1'));
    expect(await sut.get('d-1')).toMatchObject({ id: 'd-1' });
    await sleep(60);
    const release = held.hold();
    expect(await sut.get('d-1')).toMatchObject({ id: 'd-1' }); // stale: served, and re-read in the background (held)
    await sleep(10);
    const removing = sut.remove('d-1');
    const afterRemoval = sut.get('d-1'); // asked while the re-read still waits
    release();
    expect(await removing).toMatchObject({ id: 'd-1' });
    expect(await afterRemoval).toBeNull();
  });

  it('does not remember a read that an own write overtook', async () => {
    const held = new CountingRepository(direct);
    const sut = new CachedEntityRepository(held, { ttlMs: 60_000, maxEntries: 100 });
    await direct.create(sensor('o-1', 'before'));
    const release = held.hold();
    const read = sut.get('o-1');
    await sleep(10); // the lookup has run and waits for its answer
    expect(await sut.update('o-1', { name: 'after' })).toMatchObject({ name: 'after' });
    release();
    // The read's answer may predate the write: returned to its caller, not kept.
    await read;
    expect(await sut.get('o-1')).toMatchObject({ name: 'after' });
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
