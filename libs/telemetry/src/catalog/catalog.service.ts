import { randomUUID } from 'node:crypto';
import { HttpStatus } from '@nestjs/common';
import { ErrorCode, type Entity, type EntityEvent, type EntityEventType, type ServerEventName, type Topic } from '#contracts';
import { ApiError } from '#http';
import type { WebSocketService } from '#realtime';
import type { EntityRepository, Page, PageQuery } from './entity-repository.js';

export interface CatalogKind<T extends Entity> {
  entityType: EntityEvent['entity_type'];
  /** The topics each event about `entity` goes to. */
  topics(entity: T): Topic[];
  /** At most this many entities (`MAX_SENSORS`); creating one more throws {@link CatalogFullException}. */
  maxEntities?: number;
}

/** The catalog holds its `maxEntities` already (409: the collection cannot take another one). */
export class CatalogFullException extends ApiError {
  constructor() {
    super(ErrorCode.CONFLICT, HttpStatus.CONFLICT, ['the limit on how many may exist is reached']);
  }
}

/** How long a count of the entities is trusted before it is taken again (other instances create too). */
const COUNT_TTL_MS = 5_000;

/**
 * CRUD for one kind of entity (sensors, locations). Every write emits its EntityEvent
 * (`<type>:created|updated|deleted`) to the kind's topics.
 */
export class CatalogService<T extends Entity> {
  /** The stored count, as last read (cached for COUNT_TTL_MS) and kept up to date by this instance's writes. */
  private counted: { value: number; at: number } | null = null;
  /** The one count query in flight: concurrent creations wait for it rather than each taking its own. */
  private counting: Promise<void> | null = null;
  /** Creations that passed the limit check and are not written yet: a count taken meanwhile does not include them. */
  private reserved = 0;
  /**
   * `<type>:created|updated|deleted`, made once: built per event, each name is a string of its own,
   * and the stream history keeps one per publication (a sensor flood's `sensor:created` each).
   */
  private readonly eventNames: Record<EntityEventType, ServerEventName & `${string}:${EntityEventType}`>;

  constructor(
    private readonly kind: CatalogKind<T>,
    private readonly repository: EntityRepository<T>,
    private readonly websocket: WebSocketService,
  ) {
    const name = (type: EntityEventType) => `${kind.entityType}:${type}` as ServerEventName & `${string}:${EntityEventType}`;
    this.eventNames = { created: name('created'), updated: name('updated'), deleted: name('deleted') };
  }

  list(page: PageQuery): Promise<Page<T>> {
    return this.repository.list(page);
  }

  async get(id: string): Promise<T> {
    return (await this.repository.get(id)) ?? this.notFound();
  }

  /** Null when absent. */
  find(id: string): Promise<T | null> {
    return this.repository.get(id);
  }

  async create(input: Omit<T, 'id' | 'createdAt' | 'updatedAt'> & { id?: string }, metadata?: Record<string, unknown>): Promise<T> {
    const max = this.kind.maxEntities;
    if (max !== undefined) {
      const stored = await this.storedCount();
      if (stored + this.reserved >= max) throw new CatalogFullException();
      // Reserved in the same tick as the check, so concurrent creations cannot all pass it.
      this.reserved += 1;
    }
    const now = new Date().toISOString();
    // Copied key by key rather than `{ ...input, id, ... }`: a literal that starts with a spread gets a hidden
    // class of its own in V8 (about 200 bytes per entity, kept as long as the entity and its event are).
    const fields = Object.fromEntries(Object.entries(input)) as typeof input;
    const entity = Object.assign(fields, { id: input.id ?? randomUUID(), createdAt: now, updatedAt: now }) as T;
    let created = false;
    try {
      created = await this.repository.create(entity);
    } finally {
      if (max !== undefined) {
        this.reserved -= 1;
        if (created && this.counted) this.counted.value += 1;
      }
    }
    if (!created) throw new ApiError(ErrorCode.CONFLICT, HttpStatus.CONFLICT);
    this.emit('created', entity, now, metadata);
    return entity;
  }

  async update(id: string, patch: Partial<Omit<T, 'id' | 'createdAt' | 'updatedAt'>>): Promise<T> {
    const updated = await this.repository.update(id, { ...patch, updatedAt: new Date().toISOString() } as Partial<T>);
    if (!updated) return this.notFound();
    this.emit('updated', updated, updated.updatedAt, { changed: Object.keys(patch) });
    return updated;
  }

  async remove(id: string): Promise<T> {
    const removed = await this.repository.remove(id);
    if (!removed) return this.notFound();
    if (this.counted) this.counted.value -= 1;
    this.emit('deleted', removed, new Date().toISOString());
    return removed;
  }

  /** True when `maxEntities` exist or are being created (by the cached count): a flood of new ids is refused without touching the store. */
  async isFull(): Promise<boolean> {
    const max = this.kind.maxEntities;
    return max !== undefined && (await this.storedCount()) + this.reserved >= max;
  }

  /**
   * The stored count, cached for a few seconds so that refusing one more entity stays cheap however
   * often it is tried. One query at a time: creations that arrive while it runs share its answer.
   * A count read while a write of ours completes may include it twice until the next read: that
   * errs on the side of refusing.
   */
  private async storedCount(): Promise<number> {
    if (this.counted && Date.now() - this.counted.at <= COUNT_TTL_MS) return this.counted.value;
    this.counting ??= this.repository
      .count()
      .then((value) => void (this.counted = { value, at: Date.now() }))
      .finally(() => (this.counting = null));
    await this.counting;
    return this.counted!.value;
  }

  /** `timestamp` is when the change was made: the entity's own `createdAt` or `updatedAt` string where there is one, so a kept event holds no second copy. */
  private emit(eventType: EntityEventType, entity: T, timestamp: string, metadata?: Record<string, unknown>): void {
    const entityType = this.kind.entityType;
    // Two literals, not a trailing spread of `metadata`: a property added by a spread lands outside
    // the object, in a property array of its own (40 bytes per event kept in a stream's history).
    const event: EntityEvent = metadata
      ? { type: 'entity_event', entity_type: entityType, event_type: eventType, entity_id: entity.id, data: entity, timestamp, metadata }
      : { type: 'entity_event', entity_type: entityType, event_type: eventType, entity_id: entity.id, data: entity, timestamp };
    this.websocket.emitToTopic(this.kind.topics(entity), this.eventNames[eventType], event);
  }

  private notFound(): never {
    throw new ApiError(ErrorCode.NOT_FOUND, HttpStatus.NOT_FOUND);
  }
}
