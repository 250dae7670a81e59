export { DatabaseConnection, SQLITE_FILE, type DatabaseOptions } from './database-connection.js';
export { DATABASE, DATABASE_CONNECTION, DatabaseModule } from './database.module.js';
export type {
  AlarmsTable,
  Database,
  DatabaseDialect,
  DeviceCredentialsTable,
  LatestReadingsTable,
  LocationsTable,
  NotificationsTable,
  ReadingsTable,
  SensorsTable,
} from './schema.js';
