import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { LogLevel } from '@nestjs/common';
import { canBePublic } from '#contracts';
import type { RealtimeModuleOptions } from '#realtime';
import { EnvReader } from './env-reader.js';

/** Used only when `NODE_ENV=development`, where it is fine for it to be public. */
export const DEV_JWT_SECRET = 'dev-only-secret-do-not-use-in-production-7f3a9c';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const satisfies readonly LogLevel[];

/** Everything the gateway reads from its environment, validated once at start-up. */
export interface AppConfig {
  /** True unless `NODE_ENV=development`: any other value, or none, gets the production rules (safe by default). */
  production: boolean;
  /** `PORT`: HTTP, Socket.IO and the plain WebSocket endpoint. */
  port: number;
  logLevel: LogLevel;
  logFormat: 'text' | 'json';
  corsOrigins: string[];
  realtime: RealtimeModuleOptions;
  /** `AUTH_DEV_TOKENS`: `POST /api/v1/auth/dev-token`. */
  devTokens: boolean;
  /** `DEMO_FEED`: the simulated sensor `demo-1`. */
  demoFeed: boolean;
  /** `DASHBOARD` (on/off) and `DASHBOARD_DIR`: the built dashboard, served at `/` when the folder exists. */
  dashboardDir: string | null;
  mqtt: {
    url?: string;
    brokerPort: number;
    /** `MQTT_BROKER_HOST`: where the embedded broker listens (loopback unless opened on purpose). */
    brokerHost: string;
    /** `MQTT_ALLOW_ANONYMOUS`: devices without credentials on the embedded broker. */
    allowAnonymous: boolean;
    /** `MQTT_USERNAME` / `MQTT_PASSWORD`: the gateway's login on an external broker. */
    username?: string;
    password?: string;
    /** Contents of `MQTT_CA_FILE`: trusted CA for an external `mqtts://` broker. */
    ca?: string;
    /** `MQTT_DEVICE_RATE_LIMIT`: messages/s per sensor; the excess is dropped. */
    deviceRateLimit: number;
    shareGroup?: string;
    clientId: string;
    topicPrefix: string;
  };
  pipeline: {
    anomalyWindow: number;
    anomalyZ: number;
    predictionEvery: number;
    predictionHorizon: number;
    /** `SENSOR_AUTO_REGISTER`: unknown sensors are created on their first reading. */
    autoRegister: boolean;
    /** `MAX_SENSORS` */
    maxSensors: number;
    /** `MAX_METRICS_PER_SENSOR` */
    maxMetricsPerSensor: number;
  };
  /** `ALARM_CLEAR_AFTER`, `INACTIVITY_FACTOR`, `INACTIVITY_MIN_SECONDS`, `ALARM_ESCALATE_AFTER` (seconds, 0 = off). */
  alarms: { clearAfter: number; inactivityFactor: number; inactivityMinSeconds: number; escalateAfterSeconds: number };
  /** `OWNER_NOTIFICATIONS_PER_MINUTE`: anomaly/alarm notifications per sensor owner per minute. */
  ownerNotificationsPerMinute: number;
  /** `DATABASE_URL` (PostgreSQL) or, unset, the embedded SQLite database in `DATA_DIR`. */
  database: { url?: string; dataDir: string };
  /** `READINGS_RETENTION_DAYS`, `READINGS_FLUSH_MS`, `READINGS_QUEUE_MAX`: the readings table and its batched writer. */
  readings: { retentionDays: number; flushMs: number; maxQueue: number };
  redisUrl?: string;
  /** `REDIS_KEY_PREFIX`: every key this app writes starts with it. */
  redisKeyPrefix: string;
  notificationsMaxPerUser: number;
  /** `HISTORY_SIZE` (publications kept per stream), `HISTORY_TTL` (seconds after a stream's last publication): CONTRACT section 9. */
  history: { historySize: number; historyTtlSeconds: number };
}

export type ConfigResult = { ok: true; config: AppConfig } | { ok: false; errors: string[] };

export function loadConfig(env: Record<string, string | undefined>): ConfigResult {
  const read = new EnvReader(env);
  // Development conveniences need an explicit opt-in; a typo such as `prod` must not switch them on.
  const production = read.string('NODE_ENV') !== 'development';

  const corsOrigins = read.list('CORS_ORIGIN', ['http://localhost:5173', 'http://localhost:3000']);
  for (const origin of corsOrigins) {
    if (origin !== '*' && !isOrigin(origin)) read.problem('CORS_ORIGIN', `"${origin}" is not an origin like https://app.example.com`);
  }

  const wsPath = read.string('WS_PATH', '/socket.io/');
  if (!wsPath.startsWith('/')) read.problem('WS_PATH', `must start with "/", got "${wsPath}"`);

  const jwtPublicKey = readPublicKey(read);
  const jwtSecret = readSecret(read, production, jwtPublicKey !== undefined);

  const devTokens = read.bool('AUTH_DEV_TOKENS', !production);
  if (production && devTokens) read.problem('AUTH_DEV_TOKENS', 'may be true only when NODE_ENV=development');

  const redisUrl = read.url('REDIS_URL', ['redis', 'rediss']);
  const databaseUrl = read.url('DATABASE_URL', ['postgres', 'postgresql']);
  // Several instances behind Redis need one shared database; each would otherwise keep its own file.
  if (redisUrl && !databaseUrl && !read.raw('DATABASE_URL'))
    read.problem('REDIS_URL', 'needs DATABASE_URL (PostgreSQL): the embedded database cannot be shared by several instances');
  const port = read.int('PORT', 3000, { min: 0, max: 65_535 });
  const topicPrefix = read.string('MQTT_TOPIC_PREFIX', '');
  if (topicPrefix && !/^[^+#$][^+#]*\/$/.test(topicPrefix))
    read.problem('MQTT_TOPIC_PREFIX', `must end with "/" and hold no + # or leading $, got "${topicPrefix}"`);
  const mqttUrl = read.url('MQTT_URL', ['mqtt', 'mqtts', 'tcp', 'ssl', 'ws', 'wss']);
  const mqttLogin = readMqttLogin(read, mqttUrl);
  const config: AppConfig = {
    production,
    port,
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'log'),
    logFormat: read.oneOf('LOG_FORMAT', ['text', 'json'] as const, production ? 'json' : 'text'),
    corsOrigins,
    realtime: {
      jwt: { secret: jwtSecret, publicKey: jwtPublicKey, issuer: read.string('JWT_ISSUER'), audience: read.string('JWT_AUDIENCE') },
      path: wsPath,
      corsOrigins,
      maxConnections: read.int('WEBSOCKET_MAX_CONNECTIONS', 10_000, { min: 1 }),
      maxConnectionsPerIp: read.int('WS_MAX_CONNECTIONS_PER_IP', 0, { min: 0 }),
      trustProxy: read.bool('TRUST_PROXY', false),
      maxPayloadBytes: read.int('WS_MAX_PAYLOAD', 65_536, { min: 1024, max: 16 * 1024 * 1024 }),
      rateLimitPerSecond: read.int('WS_RATE_LIMIT', 50, { min: 1, max: 100_000 }),
      maxBufferedBytes: read.int('WS_MAX_BUFFERED_BYTES', 1024 * 1024, { min: 1024 }),
      publicChannels: readPublicChannels(read),
      pingIntervalMs: read.number('WEBSOCKET_PING_INTERVAL', 30, { min: 0, exclusiveMin: true, max: 3600 }) * 1000,
      pingTimeoutMs: read.number('WEBSOCKET_PING_TIMEOUT', 10, { min: 0, exclusiveMin: true, max: 3600 }) * 1000,
    },
    devTokens,
    demoFeed: read.bool('DEMO_FEED', !production),
    dashboardDir: read.bool('DASHBOARD', true) ? read.string('DASHBOARD_DIR', 'apps/dashboard/dist') : null,
    mqtt: {
      url: mqttUrl,
      brokerPort: read.int('MQTT_BROKER_PORT', 1883, { min: 0, max: 65_535 }),
      brokerHost: read.string('MQTT_BROKER_HOST', '127.0.0.1'),
      allowAnonymous: read.bool('MQTT_ALLOW_ANONYMOUS', !production),
      ...mqttLogin,
      deviceRateLimit: read.int('MQTT_DEVICE_RATE_LIMIT', 100, { min: 1, max: 100_000 }),
      shareGroup: read.string('MQTT_SHARE_GROUP') ?? (redisUrl ? 'gateway' : undefined),
      // Stable across restarts of this instance, so the broker keeps its QoS 1 session.
      clientId: read.string('MQTT_CLIENT_ID', `gateway-${hostname()}-${port}`),
      topicPrefix,
    },
    pipeline: {
      anomalyWindow: read.int('ANOMALY_WINDOW', 100, { min: 10, max: 10_000 }),
      anomalyZ: read.number('ANOMALY_Z', 3, { min: 0, exclusiveMin: true, max: 100 }),
      predictionEvery: read.int('PREDICTION_EVERY', 10, { min: 1, max: 100_000 }),
      predictionHorizon: read.int('PREDICTION_HORIZON', 5, { min: 1, max: 1000 }),
      autoRegister: read.bool('SENSOR_AUTO_REGISTER', !production),
      maxSensors: read.int('MAX_SENSORS', 10_000, { min: 1, max: 10_000_000 }),
      maxMetricsPerSensor: read.int('MAX_METRICS_PER_SENSOR', 32, { min: 1, max: 1000 }),
    },
    alarms: {
      clearAfter: read.int('ALARM_CLEAR_AFTER', 5, { min: 1, max: 10_000 }),
      inactivityFactor: read.number('INACTIVITY_FACTOR', 5, { min: 0, exclusiveMin: true, max: 1000 }),
      inactivityMinSeconds: read.number('INACTIVITY_MIN_SECONDS', 30, { min: 0, exclusiveMin: true, max: 30 * 86_400 }),
      escalateAfterSeconds: read.int('ALARM_ESCALATE_AFTER', 0, { min: 0, max: 30 * 86_400 }),
    },
    ownerNotificationsPerMinute: read.int('OWNER_NOTIFICATIONS_PER_MINUTE', 10, { min: 1, max: 10_000 }),
    database: { url: databaseUrl, dataDir: read.string('DATA_DIR', './data') },
    readings: {
      retentionDays: read.int('READINGS_RETENTION_DAYS', 30, { min: 1, max: 36_500 }),
      flushMs: read.int('READINGS_FLUSH_MS', 250, { min: 10, max: 10_000 }),
      maxQueue: read.int('READINGS_QUEUE_MAX', 100_000, { min: 1_000, max: 10_000_000 }),
    },
    redisUrl,
    redisKeyPrefix: read.string('REDIS_KEY_PREFIX', 'rtg:'),
    notificationsMaxPerUser: read.int('NOTIFICATIONS_MAX_PER_USER', 1000, { min: 1, max: 100_000 }),
    history: {
      historySize: read.int('HISTORY_SIZE', 1000, { min: 1, max: 100_000 }),
      historyTtlSeconds: read.int('HISTORY_TTL', 600, { min: 1, max: 86_400 }),
    },
  };
  return read.errors.length > 0 ? { ok: false, errors: read.errors } : { ok: true, config };
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/** `WS_PUBLIC_CHANNELS`: topics tokenless clients may read; one line per topic that may not be public. */
function readPublicChannels(read: EnvReader): string[] {
  const channels = [...new Set(read.list('WS_PUBLIC_CHANNELS', []))];
  for (const channel of channels) {
    if (!canBePublic(channel))
      read.problem(
        'WS_PUBLIC_CHANNELS',
        `"${channel.slice(0, 80)}" cannot be public: only general, sensors, readings, locations, anomalies, predictions or sensor:<id> (never system or user rooms)`,
      );
  }
  return channels.filter(canBePublic);
}

function readPublicKey(read: EnvReader): string | undefined {
  // Env files often carry PEMs on one line with literal "\n".
  const pem = read.raw('JWT_PUBLIC_KEY')?.replace(/\\n/g, '\n');
  if (pem === undefined) return undefined;
  try {
    const key = createPublicKey(pem);
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (key.asymmetricKeyType === 'rsa' || (key.asymmetricKeyType === 'ec' && curve === 'prime256v1')) return pem;
    read.problem('JWT_PUBLIC_KEY', `must be an RSA or EC P-256 public key, got ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''}`);
  } catch {
    read.problem('JWT_PUBLIC_KEY', 'is not a PEM public key');
  }
  return undefined;
}

/** The gateway's own login on an external broker: only with `MQTT_URL`; a CA file only for TLS URLs. */
function readMqttLogin(read: EnvReader, url: string | undefined): { username?: string; password?: string; ca?: string } {
  const username = read.raw('MQTT_USERNAME');
  const password = read.raw('MQTT_PASSWORD');
  const caFile = read.raw('MQTT_CA_FILE');
  for (const [name, value] of [
    ['MQTT_USERNAME', username],
    ['MQTT_PASSWORD', password],
    ['MQTT_CA_FILE', caFile],
  ] as const) {
    if (value !== undefined && url === undefined) read.problem(name, 'applies to an external broker only: set MQTT_URL too');
  }
  if (password !== undefined && username === undefined) read.problem('MQTT_PASSWORD', 'needs MQTT_USERNAME');
  let ca: string | undefined;
  if (caFile !== undefined) {
    if (url !== undefined && !/^(mqtts|ssl|wss):/.test(url)) read.problem('MQTT_CA_FILE', 'needs a TLS MQTT_URL (mqtts://, ssl:// or wss://)');
    try {
      ca = readFileSync(caFile, 'utf8');
      if (!ca.includes('-----BEGIN CERTIFICATE-----')) read.problem('MQTT_CA_FILE', `"${caFile}" holds no PEM certificate`);
    } catch {
      read.problem('MQTT_CA_FILE', `cannot read "${caFile}"`);
    }
  }
  return { ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }), ...(ca === undefined ? {} : { ca }) };
}

function readSecret(read: EnvReader, production: boolean, hasPublicKey: boolean): string | undefined {
  const secret = read.raw('JWT_SECRET');
  if (!production) return secret ?? DEV_JWT_SECRET;
  if (secret === undefined) {
    if (!hasPublicKey) read.problem('JWT_SECRET', 'must be set unless NODE_ENV=development (or set JWT_PUBLIC_KEY)');
    return undefined;
  }
  if (secret === DEV_JWT_SECRET) read.problem('JWT_SECRET', 'is the development default; set your own unless NODE_ENV=development');
  else if (secret.length < 32) read.problem('JWT_SECRET', 'must be at least 32 characters unless NODE_ENV=development');
  return secret;
}
