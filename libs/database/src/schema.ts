import type { Generated } from 'kysely';

/*
 * The one schema of the gateway's durable data, the same on SQLite and PostgreSQL. Times are
 * integer milliseconds since the epoch (`bigint` on PostgreSQL, read back as numbers), so range and
 * bucket arithmetic is plain integer arithmetic on both. Objects without their own columns
 * (thresholds, notification data) are JSON text.
 */

export interface SensorsTable {
  id: string;
  name: string;
  type: string;
  model: string | null;
  unit: string | null;
  location_id: string | null;
  owner_id: string | null;
  /** JSON `{ min?, max? }`. */
  thresholds: string | null;
  created_at: number;
  updated_at: number;
}

export interface LocationsTable {
  id: string;
  name: string;
  description: string | null;
  latitude: number | null;
  longitude: number | null;
  created_at: number;
  updated_at: number;
}

export interface NotificationsTable {
  /** Insertion order: newest first is `seq` descending. */
  seq: Generated<number>;
  id: string;
  user_id: string;
  title: string;
  message: string;
  /** JSON, or null when the notification has no data. */
  data: string | null;
  created_at: number;
  read_at: number | null;
}

export interface DeviceCredentialsTable {
  sensor_id: string;
  /** The token's hash, never the token. */
  hash: string;
  created_at: number;
}

/** Every reading; no key of its own (the `(sensor_id, metric, ts)` index, carrying `value`, serves every query). */
export interface ReadingsTable {
  sensor_id: string;
  metric: string;
  ts: number;
  value: number;
  unit: string | null;
}

/** The newest reading of each (sensor, metric): `GET /sensors/:id/latest` without scanning history. */
export interface LatestReadingsTable {
  sensor_id: string;
  metric: string;
  ts: number;
  value: number;
  unit: string | null;
}

/**
 * Per series and minute (`minute_ts`, a multiple of 60 000), an aggregate of its `readings`: kept
 * by the writer in the readings' transaction; bucket queries of whole minutes read it.
 */
export interface Readings1mTable {
  sensor_id: string;
  metric: string;
  minute_ts: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  /** The minute's newest reading (greatest `ts`). */
  last_ts: number;
  last_value: number;
}

/** Alarms (CONTRACT.md §12); at most one `active` row per (sensor_id, metric, type), by a partial unique index. */
export interface AlarmsTable {
  seq: Generated<number>;
  id: string;
  sensor_id: string;
  metric: string;
  type: string;
  severity: string;
  status: string;
  /** 0 or 1 (one type on both engines). */
  acknowledged: number;
  start_ts: number;
  last_ts: number;
  count: number;
  ack_ts: number | null;
  ack_by: string | null;
  clear_ts: number | null;
  clear_by: string | null;
  /** JSON. */
  details: string;
  normal_streak: number;
  peak_severity: string;
  previous_peak: string | null;
  notified_at: number;
}

export interface Database {
  sensors: SensorsTable;
  locations: LocationsTable;
  notifications: NotificationsTable;
  device_credentials: DeviceCredentialsTable;
  readings: ReadingsTable;
  latest_readings: LatestReadingsTable;
  readings_1m: Readings1mTable;
  alarms: AlarmsTable;
}

/** Which engine is behind the Kysely instance, for the few statements that differ. */
export type DatabaseDialect = 'sqlite' | 'postgres';
