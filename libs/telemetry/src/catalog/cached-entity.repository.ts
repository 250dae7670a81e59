import { msSince, type Entity } from '#contracts';
import type { EntityRepository, Page, PageQuery } from './entity-repository.js';

export interface EntityCacheOptions {
  /** How long a read entity is trusted (ms): another instance's change shows after at most this and one re-read. */
  ttlMs: number;
  /** Entities kept at most; beyond it the cache starts over. */
  maxEntries: number;
}

/** Ids looked up in one query at most (well under SQLite's and PostgreSQL's parameter limits). */
const MAX_IDS_PER_QUERY = 500;

interface Waiter<T> {
  resolve: (entity: T | null) => void;
  reject: (error: unknown) => void;
}

/**
 * Keeps recently read entities in memory in front of the database: the readings pipeline looks its
 * sensor up for every reading, which must not cost a database round trip each, nor wait on one.
 * - Lookups of ids not in memory made in the same turn of the event loop share one query
 *   (`getMany`), and concurrent lookups of one id share one place in it: a burst from 1000 new
 *   sensors is a few queries, not 1000 that exhaust the connection pool.
 * - An entry past its TTL is still served at once while one re-read runs in the background; if
 *   that re-read fails (the database is away) the entry is kept and tried again a TTL later, so
 *   readings of known sensors never wait on, or fail with, the database.
 * - This instance's own writes update the cache at once; a read that started before one of them
 *   is not remembered (it may predate the write).
 * Absent ids are not cached: a sensor created on another instance is usable here at once.
 */
export class CachedEntityRepository<T extends Entity> implements EntityRepository<T> {
  /** `until`: ms after `base` (see `clock`). */
  private readonly cache = new Map<string, { entity: T; until: number }>();
  private readonly reading = new Map<string, Promise<T | null>>();
  private readonly creating = new Map<string, Promise<boolean>>();
  /** Ids to look up in the next query, with who waits for each; null when none is queued. */
  private queued: Map<string, Waiter<T>[]> | null = null;
  /** Counts this instance's writes, so a read can tell whether one happened while it ran. */
  private writes = 0;
  private readonly base = Date.now();

  constructor(
    private readonly inner: EntityRepository<T>,
    private readonly options: EntityCacheOptions,
  ) {}

  get(id: string): Promise<T | null> {
    const hit = this.cache.get(id);
    if (hit) {
      if (hit.until <= this.clock()) this.refresh(id, hit);
      return Promise.resolve(hit.entity);
    }
    return this.read(id);
  }

  async getMany(ids: readonly string[]): Promise<T[]> {
    const found: (T | null)[] = await Promise.all(ids.map((id) => this.get(id)));
    return found.filter((entity) => entity !== null);
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
    this.writes++;
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
    this.writes++;
    const updated = await this.inner.update(id, patch);
    if (updated) this.remember(updated);
    else this.cache.delete(id);
    return updated;
  }

  async remove(id: string): Promise<T | null> {
    this.writes++;
    this.cache.delete(id);
    // A read in flight may answer with the entity as it was: later lookups must not share it.
    this.reading.delete(id);
    const removed = await this.inner.remove(id);
    this.cache.delete(id);
    return removed;
  }

  /** One read per id at a time, batched with the other ids of this turn. */
  private read(id: string): Promise<T | null> {
    let pending = this.reading.get(id);
    if (!pending) {
      const writesBefore = this.writes;
      pending = this.lookUp(id).then((entity) => {
        if (entity && this.writes === writesBefore) this.remember(entity);
        return entity;
      });
      const settle = () => this.reading.delete(id);
      pending.then(settle, settle);
      this.reading.set(id, pending);
    }
    return pending;
  }

  /** ms since `base` (`msSince`: `until` as a time since the epoch would be a boxed double per cached entity). */
  private clock(): number {
    return msSince(this.base, Date.now());
  }

  /** A stale entry's background re-read: absent now means deleted elsewhere; a failure keeps the entry a TTL more. */
  private refresh(id: string, stale: { entity: T; until: number }): void {
    if (this.reading.has(id)) return;
    // Not again until this re-read ends (or a TTL passes, if it fails).
    stale.until = this.clock() + this.options.ttlMs;
    const writesBefore = this.writes;
    const settle = () => this.reading.delete(id);
    const pending = this.lookUp(id).then(
      (entity) => {
        if (this.writes !== writesBefore) return entity;
        if (entity) this.remember(entity);
        else this.cache.delete(id);
        return entity;
      },
      () => stale.entity,
    );
    pending.then(settle, settle);
    this.reading.set(id, pending);
  }

  private lookUp(id: string): Promise<T | null> {
    return new Promise((resolve, reject) => {
      if (!this.queued) {
        this.queued = new Map();
        // setImmediate, not a microtask: every message of one network read is parsed by then.
        setImmediate(() => this.flush());
      }
      const waiters = this.queued.get(id);
      if (waiters) waiters.push({ resolve, reject });
      else this.queued.set(id, [{ resolve, reject }]);
    });
  }

  private flush(): void {
    const queued = this.queued!;
    this.queued = null;
    const ids = [...queued.keys()];
    for (let start = 0; start < ids.length; start += MAX_IDS_PER_QUERY) {
      const chunk = ids.slice(start, start + MAX_IDS_PER_QUERY);
      this.inner.getMany(chunk).then(
        (entities) => {
          const byId = new Map(entities.map((entity) => [entity.id, entity]));
          for (const id of chunk) for (const waiter of queued.get(id)!) waiter.resolve(byId.get(id) ?? null);
        },
        (error: unknown) => {
          for (const id of chunk) for (const waiter of queued.get(id)!) waiter.reject(error);
        },
      );
    }
  }

  private remember(entity: T): void {
    if (this.cache.size >= this.options.maxEntries && !this.cache.has(entity.id)) this.cache.clear();
    this.cache.set(entity.id, { entity, until: this.clock() + this.options.ttlMs });
  }
}
