export interface TelemetryModuleOptions {
  /** Readings per (sensor, metric) in the rolling window. @default 100 */
  anomalyWindow?: number;
  /** |z| above this is an anomaly. @default 3 */
  anomalyZ?: number;
  /** No anomaly verdict before this many readings. @default 10 */
  anomalyMinReadings?: number;
  /** A forecast every this many readings of a series. @default 10 */
  predictionEvery?: number;
  /** Points per forecast. @default 5 */
  predictionHorizon?: number;
  /** Unknown sensors are created on their first reading; otherwise their readings are refused (`unknown_sensor`). @default false */
  autoRegister?: boolean;
  /** Sensors that may exist; beyond it nothing is registered or created (`sensor_limit`, HTTP 409). @default 10000 */
  maxSensors?: number;
  /** Metrics per sensor; readings of further ones are refused (`metric_limit`). @default 32 */
  maxMetricsPerSensor?: number;
  /** Readings older than this many days are deleted. @default 30 */
  readingsRetentionDays?: number;
  /** Queued readings are written to the database at least this often (ms). @default 250 */
  readingsFlushMs?: number;
  /** Rows per write batch (a full batch is written at once). @default 2000 */
  readingsBatchSize?: number;
  /** Readings waiting to be written, at most; beyond it new ones are dropped and counted. @default 100000 */
  readingsMaxQueue?: number;
}

export type ResolvedTelemetryOptions = Required<TelemetryModuleOptions>;
export const TELEMETRY_OPTIONS = Symbol('TELEMETRY_OPTIONS');

export function resolveTelemetryOptions(options: TelemetryModuleOptions): ResolvedTelemetryOptions {
  return {
    anomalyWindow: 100,
    anomalyZ: 3,
    anomalyMinReadings: 10,
    predictionEvery: 10,
    predictionHorizon: 5,
    autoRegister: false,
    maxSensors: 10_000,
    maxMetricsPerSensor: 32,
    readingsRetentionDays: 30,
    readingsFlushMs: 250,
    readingsBatchSize: 2000,
    readingsMaxQueue: 100_000,
    ...options,
  };
}
