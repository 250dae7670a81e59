import type { Entity } from '#contracts';

/**
 * Storage for sensors and locations. In memory for a single instance; the Redis implementation
 * for a cluster sits behind the same interface.
 */
export interface EntityRepository<T extends Entity> {
  get(id: string): Promise<T | null>;
  list(): Promise<T[]>;
  /** False when the id exists already. */
  create(entity: T): Promise<boolean>;
  /** The updated entity, or null when absent. */
  update(id: string, patch: Partial<T>): Promise<T | null>;
  /** The removed entity, or null when absent. */
  remove(id: string): Promise<T | null>;
}

export class InMemoryEntityRepository<T extends Entity> implements EntityRepository<T> {
  private readonly byId = new Map<string, T>();

  async get(id: string): Promise<T | null> {
    return this.byId.get(id) ?? null;
  }

  async list(): Promise<T[]> {
    return [...this.byId.values()];
  }

  async create(entity: T): Promise<boolean> {
    if (this.byId.has(entity.id)) return false;
    this.byId.set(entity.id, entity);
    return true;
  }

  async update(id: string, patch: Partial<T>): Promise<T | null> {
    const current = this.byId.get(id);
    if (!current) return null;
    const updated = { ...current, ...patch, id };
    this.byId.set(id, updated);
    return updated;
  }

  async remove(id: string): Promise<T | null> {
    const current = this.byId.get(id);
    if (!current) return null;
    this.byId.delete(id);
    return current;
  }
}
