import { describe, expect, it } from '@jest/globals';
import type { Sensor } from '#contracts';
import type { WebSocketService } from '#realtime';
import { CatalogFullException, CatalogService } from './catalog.service.js';
import type { EntityRepository, Page } from './entity-repository.js';

/** An in-memory repository whose every call takes a few milliseconds, as a database's does. */
class SlowRepository implements EntityRepository<Sensor> {
  readonly rows = new Map<string, Sensor>();
  private readonly later = <T>(value: () => T) => new Promise<T>((resolve) => setTimeout(() => resolve(value()), 2 + Math.floor(Math.random() * 5)));
  get(id: string) {
    return this.later(() => this.rows.get(id) ?? null);
  }
  getMany(ids: readonly string[]) {
    return this.later(() => ids.flatMap((id) => this.rows.get(id) ?? []));
  }
  list(): Promise<Page<Sensor>> {
    return this.later(() => ({ items: [...this.rows.values()], nextCursor: null }));
  }
  count() {
    return this.later(() => this.rows.size);
  }
  create(entity: Sensor) {
    return this.later(() => !this.rows.has(entity.id) && Boolean(this.rows.set(entity.id, entity)));
  }
  update(id: string, patch: Partial<Sensor>) {
    return this.later(() => (this.rows.has(id) ? { ...this.rows.get(id)!, ...patch } : null));
  }
  remove(id: string) {
    return this.later(() => {
      const row = this.rows.get(id) ?? null;
      this.rows.delete(id);
      return row;
    });
  }
}

const websocket = { emitToTopics: () => undefined, emitToTopic: () => undefined } as unknown as WebSocketService;

describe('CatalogService maxEntities', () => {
  const catalog = (repository: SlowRepository, max: number) =>
    new CatalogService<Sensor>({ entityType: 'sensor', topics: () => [], maxEntities: max }, repository, websocket);
  const create = (sut: CatalogService<Sensor>, id: string) =>
    sut.create({ name: id, type: 't', id }).then(
      () => 'created',
      (error: unknown) => (error instanceof CatalogFullException ? 'full' : `failed: ${String(error)}`),
    );

  it('never lets concurrent creations past the limit, even when none has counted yet', async () => {
    const repository = new SlowRepository();
    const sut = catalog(repository, 10);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => create(sut, `s${i}`)));
    expect(results.filter((r) => r === 'created')).toHaveLength(10);
    expect(results.filter((r) => r === 'full')).toHaveLength(40);
    expect(repository.rows.size).toBe(10);
  });

  it('frees a place when one is removed, and counts a failed creation (an id that exists) as none', async () => {
    const repository = new SlowRepository();
    const sut = catalog(repository, 3);
    // Which of the two 'a' wins depends on the repository's timing: one of them fails, either one.
    const results = await Promise.all(['a', 'b', 'a'].map((id) => create(sut, id)));
    expect(results.filter((result) => result === 'created')).toHaveLength(2);
    expect(results.filter((result) => result.startsWith('failed: ApiError'))).toHaveLength(1);
    expect(await create(sut, 'c')).toBe('created');
    expect(await create(sut, 'd')).toBe('full');
    await sut.remove('a');
    expect(await create(sut, 'd')).toBe('created');
    expect(repository.rows.size).toBe(3);
  });
});

describe('CatalogService events', () => {
  it("stamps a sensor's created and updated events with the entity's own creation and update times", async () => {
    const emitted: { event: string; payload: { timestamp: string; data: Sensor } }[] = [];
    const recording = { emitToTopic: (_topics: unknown, event: string, payload: { timestamp: string; data: Sensor }) => emitted.push({ event, payload }) };
    const sut = new CatalogService<Sensor>({ entityType: 'sensor', topics: () => ['sensors'] }, new SlowRepository(), recording as unknown as WebSocketService);
    const sensor = await sut.create({ id: 'ts-1', name: 'ts-1', type: 't' });
    const updated = await sut.update('ts-1', { name: 'renamed' });
    expect(emitted).toEqual([
      { event: 'sensor:created', payload: expect.objectContaining({ timestamp: sensor.createdAt, data: sensor }) },
      { event: 'sensor:updated', payload: expect.objectContaining({ timestamp: updated.updatedAt, data: updated }) },
    ]);
  });
});
