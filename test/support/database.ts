import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from '@jest/globals';
import pg from 'pg';
import { DatabaseConnection, type DatabaseOptions } from '#database';

/** The machine's PostgreSQL (trust auth); each suite creates its own database in it. */
export const POSTGRES_ADMIN_URL = process.env['TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type DatabaseKind = 'sqlite' | 'postgres';
export const DATABASE_KINDS: readonly DatabaseKind[] = ['sqlite', 'postgres'];

export interface TestDatabase {
  kind: DatabaseKind;
  /** What the gateway reads: `DATABASE_URL` for PostgreSQL, `DATA_DIR` for SQLite. */
  env: Record<string, string>;
  options: DatabaseOptions;
  /** Removes the database (PostgreSQL: DROP DATABASE, even with clients left; SQLite: the folder). */
  drop(): Promise<void>;
}

/** A fresh, empty folder for an embedded database. */
export function tempDataDir(tag = 'data'): string {
  return mkdtempSync(join(tmpdir(), `rtg-${tag}-`));
}

/** A new PostgreSQL database `rtg_test_<pid>_<random>`. */
export async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = `rtg_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = POSTGRES_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return { kind: 'postgres', env: { DATABASE_URL: url }, options: { url, poolSize: 4 }, drop: () => admin(`drop database if exists ${name} with (force)`) };
}

/**
 * A PostgreSQL database owned by a role of its own (not a superuser), so a test can take the
 * database away from the gateway for real (`lockOut`: no new connections, existing ones cut) and
 * give it back (`letIn`).
 */
export async function createLockableDatabase(): Promise<TestDatabase & { lockOut(): Promise<void>; letIn(): Promise<void> }> {
  const database = await createPostgresDatabase();
  const name = database.env['DATABASE_URL']!.split('/').pop()!;
  const role = `${name}_owner`;
  await admin(`create role ${role} login`);
  await admin(`alter database ${name} owner to ${role}`);
  const url = database.env['DATABASE_URL']!.replace('//postgres@', `//${role}@`);
  return {
    kind: 'postgres',
    env: { DATABASE_URL: url },
    options: { url, poolSize: 4 },
    lockOut: async () => {
      await admin(`alter database ${name} allow_connections false`);
      await admin(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${name}'`);
    },
    letIn: () => admin(`alter database ${name} allow_connections true`),
    drop: async () => {
      await database.drop();
      await admin(`drop role if exists ${role}`);
    },
  };
}

export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === 'postgres') return createPostgresDatabase();
  const dir = tempDataDir();
  return { kind, env: { DATA_DIR: dir }, options: { dataDir: dir }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** A migrated connection to a fresh database of `kind`, and how to close and drop it. */
export async function openTestDatabase(
  kind: DatabaseKind,
): Promise<{ connection: DatabaseConnection; reopen: () => Promise<DatabaseConnection>; close: () => Promise<void> }> {
  const database = await createTestDatabase(kind);
  const connection = await DatabaseConnection.open(database.options);
  return {
    connection,
    reopen: () => DatabaseConnection.open(database.options),
    close: async () => {
      await connection.close();
      await database.drop();
    },
  };
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * A PostgreSQL database for the enclosing suite: created before its tests, dropped after them.
 * Returns its URL (call it from inside tests or hooks).
 */
export function usePostgresDatabase(): () => string {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createPostgresDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  return () => {
    if (!database) throw new Error('usePostgresDatabase(): the database is created in beforeAll');
    return database.env['DATABASE_URL']!;
  };
}
