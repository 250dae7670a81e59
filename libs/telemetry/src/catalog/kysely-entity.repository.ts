import type { Kysely } from 'kysely';
import type { Entity, Location, Sensor } from '#contracts';
import { paddedIdList, type Database } from '#database';
import type { EntityRepository, Page, PageQuery } from './entity-repository.js';

/** How one kind of entity maps onto its table: field -> column, and which fields are JSON. */
export interface EntityTable<T extends Entity> {
  table: 'sensors' | 'locations';
  columns: { [K in keyof T]-?: string };
  json?: readonly (keyof T)[];
}

export const SENSORS_TABLE: EntityTable<Sensor> = {
  table: 'sensors',
  columns: {
    id: 'id',
    name: 'name',
    type: 'type',
    model: 'model',
    unit: 'unit',
    locationId: 'location_id',
    ownerId: 'owner_id',
    thresholds: 'thresholds',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
  json: ['thresholds'],
};

export const LOCATIONS_TABLE: EntityTable<Location> = {
  table: 'locations',
  columns: {
    id: 'id',
    name: 'name',
    description: 'description',
    latitude: 'latitude',
    longitude: 'longitude',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
};

const TIMES = new Set(['createdAt', 'updatedAt']);
type Row = Record<string, unknown>;

/**
 * Sensors or locations in the gateway's database. A patch writes only the columns it names, in
 * one statement, so concurrent patches of different fields (on any instance) both stick.
 */
export class KyselyEntityRepository<T extends Entity> implements EntityRepository<T> {
  // The table is chosen at run time, which Kysely's static table types cannot follow.
  private readonly db: Kysely<any>;

  constructor(
    db: Kysely<Database>,
    private readonly mapping: EntityTable<T>,
  ) {
    this.db = db as Kysely<any>;
  }

  async get(id: string): Promise<T | null> {
    const row = await this.db.selectFrom(this.mapping.table).selectAll().where('id', '=', id).executeTakeFirst();
    return row ? this.fromRow(row) : null;
  }

  async getMany(ids: readonly string[]): Promise<T[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom(this.mapping.table).selectAll().where('id', 'in', paddedIdList(ids)).execute();
    return rows.map((row) => this.fromRow(row));
  }

  async list({ limit, cursor }: PageQuery): Promise<Page<T>> {
    let query = this.db.selectFrom(this.mapping.table).selectAll();
    if (cursor !== undefined) query = query.where('id', '>', cursor);
    const rows = await query
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    const items = rows.slice(0, limit).map((row) => this.fromRow(row));
    return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom(this.mapping.table)
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row['n']);
  }

  async create(entity: T): Promise<boolean> {
    // The row count, not RETURNING: SQLite collects RETURNING rows in a temporary table whose page
    // cache (about 88 KB) is allocated and freed on every insert, which a flood of new sensors
    // turned into allocator churn.
    const { numInsertedOrUpdatedRows } = await this.db
      .insertInto(this.mapping.table)
      .values(this.toRow(entity))
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirstOrThrow();
    return (numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  async update(id: string, patch: Partial<T>): Promise<T | null> {
    const { id: _ignored, createdAt: _created, ...rest } = patch;
    const set = this.toRow(rest as Partial<T>);
    if (Object.keys(set).length === 0) return this.get(id);
    const row = await this.db.updateTable(this.mapping.table).set(set).where('id', '=', id).returningAll().executeTakeFirst();
    return row ? this.fromRow(row) : null;
  }

  async remove(id: string): Promise<T | null> {
    const row = await this.db.deleteFrom(this.mapping.table).where('id', '=', id).returningAll().executeTakeFirst();
    return row ? this.fromRow(row) : null;
  }

  private toRow(entity: Partial<T>): Row {
    const row: Row = {};
    for (const [field, column] of Object.entries(this.mapping.columns) as [keyof T & string, string][]) {
      if (!(field in entity)) continue;
      const value = entity[field];
      if (value === undefined) continue;
      row[column] = TIMES.has(field) ? Date.parse(value as string) : this.mapping.json?.includes(field) ? JSON.stringify(value) : value;
    }
    return row;
  }

  private fromRow(row: Row): T {
    const entity: Row = {};
    for (const [field, column] of Object.entries(this.mapping.columns) as [keyof T & string, string][]) {
      const value = row[column];
      if (value === null || value === undefined) continue;
      entity[field] = TIMES.has(field) ? new Date(Number(value)).toISOString() : this.mapping.json?.includes(field) ? JSON.parse(value as string) : value;
    }
    return entity as T;
  }
}
