export { DatabaseConnection, SQLITE_FILE, type DatabaseOptions } from './database-connection.js';
export { DATABASE, DATABASE_CONNECTION, DatabaseModule } from './database.module.js';
export { BACKFILL_READINGS_1M, ROLLUP_MINUTE_MS } from './migrations/0003-readings-rollup.js';
export { bulkChunks, paddedIdList, SQLITE_ROWS_PER_STATEMENT } from './sqlite-statement-cache.js';
export type {
  AlarmsTable,
  Database,
  DatabaseDialect,
  DeviceCredentialsTable,
  LatestReadingsTable,
  LocationsTable,
  NotificationsTable,
  Readings1mTable,
  ReadingsTable,
  SensorsTable,
} from './schema.js';
