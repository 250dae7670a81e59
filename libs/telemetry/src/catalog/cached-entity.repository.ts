import type { Entity } from '#contracts';
import type { EntityRepository, Page, PageQuery } from './entity-repository.js';

export interface EntityCacheOptions {
  /** How long a read entity is served from memory (ms): another instance's change shows after at most this. */
  ttlMs: number;
  /** Entities kept at most; beyond it the cache starts over. */
  maxEntries: number;
}

/**
 * Keeps recently read entities in memory in front of the database: the readings pipeline looks its
 * sensor up for every reading, which must not cost a database round trip each. This instance's
 * own writes update the cache at once; another instance's show after at most `ttlMs`. Concurrent
 * reads and creates of one id share one query, so a burst from a new sensor registers it once.
 * Absent ids are not cached.
 */
export class CachedEntityRepository<T extends Entity> implements EntityRepository<T> {
  private readonly cache = new Map<string, { entity: T; until: number }>();
  private readonly reading = new Map<string, Promise<T | null>>();
  private readonly creating = new Map<string, Promise<boolean>>();

  constructor(
    private readonly inner: EntityRepository<T>,
    private readonly options: EntityCacheOptions,
  ) {}

  get(id: string): Promise<T | null> {
    const hit = this.cache.get(id);
    if (hit && hit.until > Date.now()) return Promise.resolve(hit.entity);
    let pending = this.reading.get(id);
    if (!pending) {
      pending = this.inner.get(id).then((entity) => {
        if (entity) this.remember(entity);
        return entity;
      });
      const settle = () => this.reading.delete(id);
      pending.then(settle, settle);
      this.reading.set(id, pending);
    }
    return pending;
  }

  list(page: PageQuery): Promise<Page<T>> {
    return this.inner.list(page);
  }

  count(): Promise<number> {
    return this.inner.count();
  }

  async create(entity: T): Promise<boolean> {
    const running = this.creating.get(entity.id);
    // Someone on this instance is creating that id right now: whatever the outcome, this one is second.
    if (running) return running.then(() => false);
    const pending = this.inner.create(entity).then((created) => {
      if (created) this.remember(entity);
      return created;
    });
    this.creating.set(entity.id, pending);
    try {
      return await pending;
    } finally {
      this.creating.delete(entity.id);
    }
  }

  async update(id: string, patch: Partial<T>): Promise<T | null> {
    const updated = await this.inner.update(id, patch);
    if (updated) this.remember(updated);
    else this.cache.delete(id);
    return updated;
  }

  async remove(id: string): Promise<T | null> {
    this.cache.delete(id);
    const removed = await this.inner.remove(id);
    this.cache.delete(id);
    return removed;
  }

  private remember(entity: T): void {
    if (this.cache.size >= this.options.maxEntries) this.cache.clear();
    this.cache.set(entity.id, { entity, until: Date.now() + this.options.ttlMs });
  }
}
