import { randomUUID } from 'node:crypto';
import { ConflictException, NotFoundException } from '@nestjs/common';
import { ErrorCode, type Entity, type EntityEvent, type EntityEventType, type ServerEventName, type Topic } from '#contracts';
import type { WebSocketService } from '#realtime';
import type { EntityRepository, Page, PageQuery } from './entity-repository.js';

export interface CatalogKind<T extends Entity> {
  entityType: EntityEvent['entity_type'];
  /** The topics each event about `entity` goes to. */
  topics(entity: T): Topic[];
}

/**
 * CRUD for one kind of entity (sensors, locations). Every write emits its EntityEvent
 * (`<type>:created|updated|deleted`) to the kind's topics.
 */
export class CatalogService<T extends Entity> {
  constructor(
    private readonly kind: CatalogKind<T>,
    private readonly repository: EntityRepository<T>,
    private readonly websocket: WebSocketService,
  ) {}

  list(page: PageQuery): Promise<Page<T>> {
    return this.repository.list(page);
  }

  async get(id: string): Promise<T> {
    return (await this.repository.get(id)) ?? this.notFound(id);
  }

  async create(input: Omit<T, 'id' | 'createdAt' | 'updatedAt'> & { id?: string }, metadata?: Record<string, unknown>): Promise<T> {
    const now = new Date().toISOString();
    const entity = { ...input, id: input.id ?? randomUUID(), createdAt: now, updatedAt: now } as T;
    if (!(await this.repository.create(entity))) {
      throw new ConflictException({ statusCode: 409, code: 'CONFLICT', message: `${this.kind.entityType} '${entity.id}' exists already` });
    }
    this.emit('created', entity, metadata);
    return entity;
  }

  async update(id: string, patch: Partial<Omit<T, 'id' | 'createdAt' | 'updatedAt'>>): Promise<T> {
    const updated = await this.repository.update(id, { ...patch, updatedAt: new Date().toISOString() } as Partial<T>);
    if (!updated) return this.notFound(id);
    this.emit('updated', updated, { changed: Object.keys(patch) });
    return updated;
  }

  async remove(id: string): Promise<T> {
    const removed = await this.repository.remove(id);
    if (!removed) return this.notFound(id);
    this.emit('deleted', removed);
    return removed;
  }

  private emit(eventType: EntityEventType, entity: T, metadata?: Record<string, unknown>): void {
    const event: EntityEvent = {
      type: 'entity_event',
      entity_type: this.kind.entityType,
      event_type: eventType,
      entity_id: entity.id,
      data: entity,
      timestamp: new Date().toISOString(),
      ...(metadata ? { metadata } : {}),
    };
    this.websocket.emitToTopic(this.kind.topics(entity), `${this.kind.entityType}:${eventType}` as ServerEventName & `${string}:${EntityEventType}`, event);
  }

  private notFound(id: string): never {
    throw new NotFoundException({ statusCode: 404, code: ErrorCode.NOT_FOUND, message: `No ${this.kind.entityType} '${id}'` });
  }
}
