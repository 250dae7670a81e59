import type { Entity } from '#contracts';

/** `limit` items after `cursor` (the last id of the previous page), in id order. */
export interface PageQuery {
  limit: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** Storage for sensors and locations: {@link KyselyEntityRepository} over the gateway's database. */
export interface EntityRepository<T extends Entity> {
  get(id: string): Promise<T | null>;
  /** Those of `ids` that exist, in any order: one query for many lookups. */
  getMany(ids: readonly string[]): Promise<T[]>;
  /** A page in id order (a stable order new entities cannot reshuffle). */
  list(page: PageQuery): Promise<Page<T>>;
  count(): Promise<number>;
  /** False when the id exists already. */
  create(entity: T): Promise<boolean>;
  /** The updated entity, or null when absent. The id is never changed. */
  update(id: string, patch: Partial<T>): Promise<T | null>;
  /** The removed entity, or null when absent. */
  remove(id: string): Promise<T | null>;
}
