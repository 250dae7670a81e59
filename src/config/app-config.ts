import { createPublicKey } from 'node:crypto';
import { hostname } from 'node:os';
import type { LogLevel } from '@nestjs/common';
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
  mqtt: { url?: string; brokerPort: number; shareGroup?: string; clientId: string; topicPrefix: string };
  pipeline: { anomalyWindow: number; anomalyZ: number; predictionEvery: number; predictionHorizon: number };
  /** `DATABASE_URL` (PostgreSQL) or, unset, the embedded SQLite database in `DATA_DIR`. */
  database: { url?: string; dataDir: string };
  /** `READINGS_RETENTION_DAYS`, `READINGS_FLUSH_MS`, `READINGS_QUEUE_MAX`: the readings table and its batched writer. */
  readings: { retentionDays: number; flushMs: number; maxQueue: number };
  redisUrl?: string;
  /** `REDIS_KEY_PREFIX`: every key this app writes starts with it. */
  redisKeyPrefix: string;
  notificationsMaxPerUser: number;
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
  if (redisUrl && !databaseUrl && !read.raw('DATABASE_URL')) read.problem('REDIS_URL', 'needs DATABASE_URL (PostgreSQL): the embedded database cannot be shared by several instances');
  const port = read.int('PORT', 3000, { min: 0, max: 65_535 });
  const topicPrefix = read.string('MQTT_TOPIC_PREFIX', '');
  if (topicPrefix && !/^[^+#$][^+#]*\/$/.test(topicPrefix)) read.problem('MQTT_TOPIC_PREFIX', `must end with "/" and hold no + # or leading $, got "${topicPrefix}"`);
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
      pingIntervalMs: read.number('WEBSOCKET_PING_INTERVAL', 30, { min: 0, exclusiveMin: true, max: 3600 }) * 1000,
      pingTimeoutMs: read.number('WEBSOCKET_PING_TIMEOUT', 10, { min: 0, exclusiveMin: true, max: 3600 }) * 1000,
    },
    devTokens,
    demoFeed: read.bool('DEMO_FEED', !production),
    dashboardDir: read.bool('DASHBOARD', true) ? read.string('DASHBOARD_DIR', 'apps/dashboard/dist') : null,
    mqtt: {
      url: read.url('MQTT_URL', ['mqtt', 'mqtts', 'tcp', 'ssl', 'ws', 'wss']),
      brokerPort: read.int('MQTT_BROKER_PORT', 1883, { min: 0, max: 65_535 }),
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
    },
    database: { url: databaseUrl, dataDir: read.string('DATA_DIR', './data') },
    readings: {
      retentionDays: read.int('READINGS_RETENTION_DAYS', 30, { min: 1, max: 36_500 }),
      flushMs: read.int('READINGS_FLUSH_MS', 250, { min: 10, max: 10_000 }),
      maxQueue: read.int('READINGS_QUEUE_MAX', 100_000, { min: 1_000, max: 10_000_000 }),
    },
    redisUrl,
    redisKeyPrefix: read.string('REDIS_KEY_PREFIX', 'rtg:'),
    notificationsMaxPerUser: read.int('NOTIFICATIONS_MAX_PER_USER', 1000, { min: 1, max: 100_000 }),
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
