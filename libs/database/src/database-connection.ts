import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import { FifoSqliteDialect } from './fifo-sqlite-dialect.js';
import { withStatementCache } from './sqlite-statement-cache.js';
import type { PoolConfig } from 'pg';
import { redactUrl } from '#contracts';
import { GatewayMigrations } from './migrations/index.js';
import type { Database, DatabaseDialect } from './schema.js';

export interface DatabaseOptions {
  /** `postgres://...`: that PostgreSQL. Unset: an embedded SQLite database in `dataDir`. */
  url?: string;
  /** Folder of the embedded database (created when missing). @default './data' */
  dataDir?: string;
  /** PostgreSQL connections per instance. @default 10 */
  poolSize?: number;
}

/** The file of the embedded database inside `DATA_DIR`. */
export const SQLITE_FILE = 'gateway.db';

/** OIDs of PostgreSQL's int8 and numeric: read as JS numbers (ms timestamps and counts fit in 2^53). */
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * The app's Kysely instance over SQLite (embedded, WAL) or PostgreSQL (a `pg` pool), migrated to
 * the latest schema. One code path above it: the dialect is told only where SQL must differ.
 */
export class DatabaseConnection {
  private static readonly logger = new Logger('Database');

  private readonly closing: (() => Promise<void>)[] = [];

  private constructor(
    readonly db: Kysely<Database>,
    readonly dialect: DatabaseDialect,
    /** Where the data is, for logs and health (no credentials). */
    readonly location: string,
  ) {}

  /** Opens and migrates; rejects with one readable line when the database cannot be reached or migrated. */
  static async open({ url, dataDir = './data', poolSize = 10 }: DatabaseOptions): Promise<DatabaseConnection> {
    const connection = url ? await DatabaseConnection.postgres(url, poolSize) : await DatabaseConnection.sqlite(dataDir);
    try {
      await connection.migrate();
    } catch (error) {
      await connection.db.destroy().catch(() => undefined);
      throw new Error(`Database ${connection.location} is not usable: ${(error as Error).message}`, { cause: error });
    }
    DatabaseConnection.logger.log(`Using ${connection.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'} at ${connection.location}`);
    return connection;
  }

  // Each driver is loaded only in its mode: the embedded default does not pay for `pg`, nor PostgreSQL for SQLite.
  private static async sqlite(dataDir: string): Promise<DatabaseConnection> {
    const { default: SQLite } = await import('better-sqlite3');
    const dir = resolve(dataDir);
    mkdirSync(dir, { recursive: true });
    const file = resolve(dir, SQLITE_FILE);
    const sqlite = new SQLite(file);
    // WAL: readers never block the writer; NORMAL sync is durable across a process crash (not an
    // OS crash mid-checkpoint), the usual pairing. A small page cache keeps the footprint small.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('cache_size = -8000');
    return new DatabaseConnection(new Kysely<Database>({ dialect: new FifoSqliteDialect({ database: withStatementCache(sqlite) }) }), 'sqlite', file);
  }

  private static async postgres(url: string, max: number): Promise<DatabaseConnection> {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({
      connectionString: url,
      max,
      connectionTimeoutMillis: 5_000,
      types: {
        getTypeParser: (oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID || oid === NUMERIC_OID ? Number : pg.types.getTypeParser(oid, format as 'text'),
      },
    } as PoolConfig);
    // An idle client losing its server must not crash the process; the pool replaces it.
    pool.on('error', (error) => DatabaseConnection.logger.warn(`PostgreSQL idle client: ${error.message}`));
    // So must one that loses it mid-query (a restart, a terminated backend): the query fails with the
    // error, but the client's own 'error' event, unheard while checked out, would end the process.
    pool.on('connect', (client) => client.on('error', (error) => DatabaseConnection.logger.warn(`PostgreSQL client: ${error.message}`)));
    return new DatabaseConnection(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), 'postgres', redactUrl(url));
  }

  /**
   * Applies pending migrations. On PostgreSQL Kysely's migrator holds a session advisory lock
   * (`pg_advisory_lock`) around reading the applied list and running the rest in one transaction,
   * so instances starting together apply each migration once; the others wait, then find nothing to do.
   */
  async migrate(): Promise<string[]> {
    const migrator = new Migrator({ db: this.db, provider: new GatewayMigrations(this.dialect) });
    const { error, results = [] } = await migrator.migrateToLatest();
    if (error) throw error instanceof Error ? error : new Error(String(error));
    const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
    if (applied.length > 0) DatabaseConnection.logger.log(`Applied migrations: ${applied.join(', ')}`);
    return applied;
  }

  /** A round trip, for `/health`. */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  /** Runs `drain` (e.g. a final flush) before the connection closes, in registration order. */
  beforeClose(drain: () => Promise<void>): void {
    this.closing.push(drain);
  }

  async close(): Promise<void> {
    for (const drain of this.closing.splice(0)) {
      try {
        await drain();
      } catch (error) {
        DatabaseConnection.logger.error(`Draining before close failed: ${(error as Error).message}`);
      }
    }
    await this.db.destroy();
  }
}
