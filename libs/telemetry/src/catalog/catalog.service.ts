import { randomUUID } from 'node:crypto';
import { HttpStatus } from '@nestjs/common';
import { ErrorCode, type Entity, type EntityEvent, type EntityEventType, type ServerEventName, type Topic } from '#contracts';
import { ApiError } from '#http';
import type { WebSocketService } from '#realtime';
import type { EntityRepository } from './entity-repository.js';

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

  list(): Promise<T[]> {
    return this.repository.list();
  }

  async get(id: string): Promise<T> {
    return (await this.repository.get(id)) ?? this.notFound();
  }

  async create(input: Omit<T, 'id' | 'createdAt' | 'updatedAt'> & { id?: string }, metadata?: Record<string, unknown>): Promise<T> {
    const now = new Date().toISOString();
    const entity = { ...input, id: input.id ?? randomUUID(), createdAt: now, updatedAt: now } as T;
    if (!(await this.repository.create(entity))) {
      throw new ApiError(ErrorCode.CONFLICT, HttpStatus.CONFLICT);
    }
    this.emit('created', entity, metadata);
    return entity;
  }

  async update(id: string, patch: Partial<Omit<T, 'id' | 'createdAt' | 'updatedAt'>>): Promise<T> {
    const updated = await this.repository.update(id, { ...patch, updatedAt: new Date().toISOString() } as Partial<T>);
    if (!updated) return this.notFound();
    this.emit('updated', updated, { changed: Object.keys(patch) });
    return updated;
  }

  async remove(id: string): Promise<T> {
    const removed = await this.repository.remove(id);
    if (!removed) return this.notFound();
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

  private notFound(): never {
    throw new ApiError(ErrorCode.NOT_FOUND, HttpStatus.NOT_FOUND);
  }
}
