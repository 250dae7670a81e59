import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Kysely } from 'kysely';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../../../test/support/database.js';
import { DatabaseConnection } from './database-connection.js';
import { DATABASE, DATABASE_CONNECTION, DatabaseModule } from './database.module.js';
import type { Database } from './schema.js';

describe.each(DATABASE_KINDS)('DatabaseModule on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(() => database.drop());

  it('opens and migrates from options, injects Kysely, and drains before closing on shutdown', async () => {
    @Module({ imports: [DatabaseModule.forRoot(database.options)] })
    class HostModule {}
    const app = await NestFactory.createApplicationContext(HostModule, { logger: false });
    const db = app.get<Kysely<Database>>(DATABASE);
    const connection = app.get<DatabaseConnection>(DATABASE_CONNECTION);
    expect(connection.dialect).toBe(kind);
    await db
      .insertInto('locations')
      .values({ id: 'l-1', name: 'L', description: null, latitude: 1.5, longitude: null, created_at: 1, updated_at: 2 })
      .execute();

    const order: string[] = [];
    connection.beforeClose(async () => {
      // The database is still open while draining: a last write goes through.
      await db
        .insertInto('locations')
        .values({ id: 'l-2', name: 'written while draining', description: null, latitude: null, longitude: null, created_at: 3, updated_at: 3 })
        .execute();
      order.push('drained');
    });
    await app.close();
    expect(order).toEqual(['drained']);
    await expect(db.selectFrom('locations').selectAll().execute()).rejects.toThrow();

    // Reopened: the data is there, timestamps come back as numbers, and nothing is left to migrate.
    const again = await DatabaseConnection.open(database.options);
    try {
      expect(await again.migrate()).toEqual([]);
      expect(await again.db.selectFrom('locations').select(['id', 'latitude', 'created_at']).orderBy('id').execute()).toEqual([
        { id: 'l-1', latitude: 1.5, created_at: 1 },
        { id: 'l-2', latitude: null, created_at: 3 },
      ]);
    } finally {
      await again.close();
    }
  });
});
