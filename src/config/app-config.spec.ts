import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { DEV_JWT_SECRET, loadConfig } from './app-config.js';

/** Problems with `env`, read in development unless it names another NODE_ENV. */
const errorsOf = (env: Record<string, string>, defaults: Record<string, string> = { NODE_ENV: 'development' }) => {
  const result = loadConfig({ ...defaults, ...env });
  return result.ok ? [] : result.errors;
};

describe('loadConfig', () => {
  it('has the contract defaults in development', () => {
    const result = loadConfig({ NODE_ENV: 'development' });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config).toMatchObject({
      production: false,
      port: 3000,
      corsOrigins: ['http://localhost:5173', 'http://localhost:3000'],
      devTokens: true,
      demoFeed: true,
      dashboardDir: 'apps/dashboard/dist',
      mqtt: { brokerPort: 1883 },
      realtime: {
        path: '/socket.io/',
        jwt: { secret: DEV_JWT_SECRET },
        maxConnections: 10_000,
        maxConnectionsPerIp: 0,
        trustProxy: false,
        maxPayloadBytes: 65_536,
        rateLimitPerSecond: 50,
        pingIntervalMs: 30_000,
        pingTimeoutMs: 10_000,
      },
    });
    expect(result.config.mqtt.shareGroup).toBeUndefined();
    expect(result.config.redisUrl).toBeUndefined();
    expect(result.config.database).toEqual({ url: undefined, dataDir: './data' });
    expect(result.config.readings).toEqual({ retentionDays: 30, flushMs: 250, maxQueue: 100_000 });
  });

  it('takes PostgreSQL from DATABASE_URL and the readings settings', () => {
    const result = loadConfig({
      NODE_ENV: 'development',
      DATABASE_URL: 'postgresql://gw:pw@db:5432/rtg',
      DATA_DIR: '/var/lib/rtg',
      READINGS_RETENTION_DAYS: '7',
      READINGS_FLUSH_MS: '100',
      READINGS_QUEUE_MAX: '5000',
    });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config.database).toEqual({ url: 'postgresql://gw:pw@db:5432/rtg', dataDir: '/var/lib/rtg' });
    expect(result.config.readings).toEqual({ retentionDays: 7, flushMs: 100, maxQueue: 5000 });
  });

  it('reads the stream history size and TTL (defaults 1000 and 600 s), one line per bad value', () => {
    const defaults = loadConfig({ NODE_ENV: 'development' });
    if (!defaults.ok) throw new Error(defaults.errors.join('\n'));
    expect(defaults.config.history).toEqual({ historySize: 1000, historyTtlSeconds: 600 });
    const set = loadConfig({ NODE_ENV: 'development', HISTORY_SIZE: '50', HISTORY_TTL: '30' });
    if (!set.ok) throw new Error(set.errors.join('\n'));
    expect(set.config.history).toEqual({ historySize: 50, historyTtlSeconds: 30 });
    const errors = errorsOf({ HISTORY_SIZE: '0', HISTORY_TTL: 'ten' });
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^HISTORY_SIZE: /);
    expect(errors[1]).toMatch(/^HISTORY_TTL: /);
    expect(errorsOf({ HISTORY_SIZE: '100001' })).toHaveLength(1);
  });

  it('refuses REDIS_URL without DATABASE_URL: the embedded database cannot be shared', () => {
    expect(errorsOf({ REDIS_URL: 'redis://127.0.0.1:6379' })).toEqual([
      'REDIS_URL: needs DATABASE_URL (PostgreSQL): the embedded database cannot be shared by several instances',
    ]);
    // A malformed DATABASE_URL is reported once, as itself.
    expect(errorsOf({ REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: 'mysql://u:p@db/x' })).toEqual([
      'DATABASE_URL: expected a URL with scheme postgres, postgresql, got "mysql://***@db/x"',
    ]);
  });

  it('has the device and bounds defaults: loopback broker, anonymous devices and auto-registration only in development', () => {
    const dev = loadConfig({ NODE_ENV: 'development' });
    const prod = loadConfig({ JWT_SECRET: 'x'.repeat(32) });
    if (!dev.ok || !prod.ok) throw new Error('defaults refused');
    const bounds = { maxSensors: 10_000, maxMetricsPerSensor: 32 };
    expect(dev.config.mqtt).toMatchObject({ brokerHost: '127.0.0.1', allowAnonymous: true, deviceRateLimit: 100 });
    expect(dev.config.pipeline).toMatchObject({ autoRegister: true, ...bounds });
    expect(prod.config.mqtt).toMatchObject({ brokerHost: '127.0.0.1', allowAnonymous: false, deviceRateLimit: 100 });
    expect(prod.config.pipeline).toMatchObject({ autoRegister: false, ...bounds });
    expect(prod.config.ownerNotificationsPerMinute).toBe(10);
    expect(prod.config.mqtt).not.toHaveProperty('username');
  });

  it('reads the device and bounds variables, and lets production opt in to anonymous devices and auto-registration', () => {
    const result = loadConfig({
      JWT_SECRET: 'x'.repeat(32),
      MQTT_BROKER_HOST: '0.0.0.0',
      MQTT_ALLOW_ANONYMOUS: 'true',
      MQTT_DEVICE_RATE_LIMIT: '5',
      SENSOR_AUTO_REGISTER: 'true',
      MAX_SENSORS: '50',
      MAX_METRICS_PER_SENSOR: '4',
      OWNER_NOTIFICATIONS_PER_MINUTE: '3',
    });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config.mqtt).toMatchObject({ brokerHost: '0.0.0.0', allowAnonymous: true, deviceRateLimit: 5 });
    expect(result.config.pipeline).toMatchObject({ autoRegister: true, maxSensors: 50, maxMetricsPerSensor: 4 });
    expect(result.config.ownerNotificationsPerMinute).toBe(3);
  });

  it('takes a login and a CA file for an external TLS broker', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ca-'));
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const result = loadConfig({
      NODE_ENV: 'development',
      MQTT_URL: 'mqtts://broker.example:8883',
      MQTT_USERNAME: 'gw',
      MQTT_PASSWORD: 'pw',
      MQTT_CA_FILE: caFile,
    });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config.mqtt).toMatchObject({ username: 'gw', password: 'pw', ca: expect.stringContaining('BEGIN CERTIFICATE') });

    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    expect(errorsOf({ MQTT_URL: 'mqtts://b:8883', MQTT_CA_FILE: notPem })).toEqual([`MQTT_CA_FILE: "${notPem}" holds no PEM certificate`]);
    expect(errorsOf({ MQTT_URL: 'mqtt://b:1883', MQTT_CA_FILE: caFile })).toEqual(['MQTT_CA_FILE: needs a TLS MQTT_URL (mqtts://, ssl:// or wss://)']);
  });

  it.each([undefined, 'production', 'prod', 'Development', ''])('applies production rules when NODE_ENV is %p', (nodeEnv) => {
    const env: Record<string, string> = nodeEnv === undefined ? {} : { NODE_ENV: nodeEnv };
    expect(errorsOf(env, {})).toEqual(['JWT_SECRET: must be set unless NODE_ENV=development (or set JWT_PUBLIC_KEY)']);
    expect(errorsOf({ ...env, JWT_SECRET: 'x'.repeat(32), AUTH_DEV_TOKENS: 'true' }, {})).toEqual([
      'AUTH_DEV_TOKENS: may be true only when NODE_ENV=development',
    ]);
    const result = loadConfig({ ...env, JWT_SECRET: 'x'.repeat(32) });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config).toMatchObject({ production: true, devTokens: false, demoFeed: false });
  });

  it('turns dev conveniences off in production and defaults the share group with Redis', () => {
    const result = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: 'postgres://db/rtg' });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config).toMatchObject({ devTokens: false, demoFeed: false, logFormat: 'json', mqtt: { shareGroup: 'gateway' } });
  });

  it('has the alarm defaults (escalation off) and reads the alarm variables', () => {
    const defaults = loadConfig({ NODE_ENV: 'development' });
    if (!defaults.ok) throw new Error(defaults.errors.join('\n'));
    expect(defaults.config.alarms).toEqual({ clearAfter: 5, inactivityFactor: 5, inactivityMinSeconds: 30, escalateAfterSeconds: 0 });
    const set = loadConfig({
      NODE_ENV: 'development',
      ALARM_CLEAR_AFTER: '3',
      INACTIVITY_FACTOR: '2.5',
      INACTIVITY_MIN_SECONDS: '0.5',
      ALARM_ESCALATE_AFTER: '600',
    });
    if (!set.ok) throw new Error(set.errors.join('\n'));
    expect(set.config.alarms).toEqual({ clearAfter: 3, inactivityFactor: 2.5, inactivityMinSeconds: 0.5, escalateAfterSeconds: 600 });
  });

  it('serves the dashboard from DASHBOARD_DIR, or not at all with DASHBOARD=false', () => {
    const elsewhere = loadConfig({ NODE_ENV: 'development', DASHBOARD_DIR: '/srv/dashboard' });
    const off = loadConfig({ NODE_ENV: 'development', DASHBOARD: 'false', DASHBOARD_DIR: '/srv/dashboard' });
    expect(elsewhere.ok && elsewhere.config.dashboardDir).toBe('/srv/dashboard');
    expect(off.ok && off.config.dashboardDir).toBeNull();
    expect(errorsOf({ DASHBOARD: 'maybe' })).toEqual([expect.stringMatching(/^DASHBOARD: /)]);
  });

  it.each([
    [{ PORT: '70000' }, 'PORT: expected an integer from 0 to 65535, got "70000"'],
    [{ PORT: '3.5' }, 'PORT: expected an integer from 0 to 65535, got "3.5"'],
    [{ WEBSOCKET_PING_INTERVAL: '0' }, 'WEBSOCKET_PING_INTERVAL: expected a number above 0 to 3600, got "0"'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY: expected true or false, got "maybe"'],
    [{ WS_PATH: 'socket' }, 'WS_PATH: must start with "/", got "socket"'],
    [{ REDIS_URL: 'http://user:pw@host' }, 'REDIS_URL: expected a URL with scheme redis, rediss, got "http://***@host"'],
    [{ DATABASE_URL: 'sqlite:///tmp/x.db' }, 'DATABASE_URL: expected a URL with scheme postgres, postgresql, got "sqlite:///tmp/x.db"'],
    [{ READINGS_RETENTION_DAYS: '0' }, 'READINGS_RETENTION_DAYS: expected an integer from 1 to 36500, got "0"'],
    [{ READINGS_FLUSH_MS: '5' }, 'READINGS_FLUSH_MS: expected an integer from 10 to 10000, got "5"'],
    [{ READINGS_QUEUE_MAX: 'lots' }, 'READINGS_QUEUE_MAX: expected an integer from 1000 to 10000000, got "lots"'],
    [{ MQTT_URL: 'nope' }, 'MQTT_URL: expected a URL with scheme mqtt, mqtts, tcp, ssl, ws, wss, got "nope"'],
    [{ JWT_PUBLIC_KEY: 'not a pem' }, 'JWT_PUBLIC_KEY: is not a PEM public key'],
    [{ MQTT_ALLOW_ANONYMOUS: 'maybe' }, 'MQTT_ALLOW_ANONYMOUS: expected true or false, got "maybe"'],
    [{ SENSOR_AUTO_REGISTER: 'sometimes' }, 'SENSOR_AUTO_REGISTER: expected true or false, got "sometimes"'],
    [{ MAX_SENSORS: '0' }, 'MAX_SENSORS: expected an integer from 1 to 10000000, got "0"'],
    [{ MAX_METRICS_PER_SENSOR: 'many' }, 'MAX_METRICS_PER_SENSOR: expected an integer from 1 to 1000, got "many"'],
    [{ MQTT_DEVICE_RATE_LIMIT: '-1' }, 'MQTT_DEVICE_RATE_LIMIT: expected an integer from 1 to 100000, got "-1"'],
    [{ OWNER_NOTIFICATIONS_PER_MINUTE: '0' }, 'OWNER_NOTIFICATIONS_PER_MINUTE: expected an integer from 1 to 10000, got "0"'],
    [{ ALARM_CLEAR_AFTER: '0' }, 'ALARM_CLEAR_AFTER: expected an integer from 1 to 10000, got "0"'],
    [{ INACTIVITY_FACTOR: '0' }, 'INACTIVITY_FACTOR: expected a number above 0 to 1000, got "0"'],
    [{ INACTIVITY_MIN_SECONDS: 'soon' }, 'INACTIVITY_MIN_SECONDS: expected a number above 0 to 2592000, got "soon"'],
    [{ ALARM_ESCALATE_AFTER: '-5' }, 'ALARM_ESCALATE_AFTER: expected an integer from 0 to 2592000, got "-5"'],
    [{ MQTT_USERNAME: 'gw' }, 'MQTT_USERNAME: applies to an external broker only: set MQTT_URL too'],
    [{ MQTT_URL: 'mqtt://b:1883', MQTT_PASSWORD: 'pw' }, 'MQTT_PASSWORD: needs MQTT_USERNAME'],
    [{ MQTT_URL: 'mqtts://b:8883', MQTT_CA_FILE: '/nonexistent/ca.pem' }, 'MQTT_CA_FILE: cannot read "/nonexistent/ca.pem"'],
    [{ CORS_ORIGIN: 'https://a.example/path' }, 'CORS_ORIGIN: "https://a.example/path" is not an origin like https://app.example.com'],
    [{ NODE_ENV: 'production', JWT_SECRET: 'short' }, 'JWT_SECRET: must be at least 32 characters unless NODE_ENV=development'],
    [{ NODE_ENV: 'production', JWT_SECRET: DEV_JWT_SECRET }, 'JWT_SECRET: is the development default; set your own unless NODE_ENV=development'],
  ])('reports %j', (env, message) => {
    expect(errorsOf(env)).toEqual([message]);
  });

  it('accepts a one-line PEM public key in production without a secret', () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const result = loadConfig({ NODE_ENV: 'production', JWT_PUBLIC_KEY: pem.replace(/\n/g, '\\n') });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config.realtime.jwt).toEqual({ secret: undefined, publicKey: pem, issuer: undefined, audience: undefined });
  });

  it('opens no channel to tokenless clients unless WS_PUBLIC_CHANNELS lists it', () => {
    const closed = loadConfig({ NODE_ENV: 'development' });
    expect(closed.ok && closed.config.realtime.publicChannels).toEqual([]);
    const open = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), WS_PUBLIC_CHANNELS: ' general, sensors,sensor:boiler-1,general' });
    expect(open.ok && open.config.realtime.publicChannels).toEqual(['general', 'sensors', 'sensor:boiler-1']);
  });

  it('refuses WS_PUBLIC_CHANNELS naming system, a user room or no topic, one line each', () => {
    const hint = 'cannot be public: only general, sensors, readings, locations, anomalies, predictions or sensor:<id> (never system or user rooms)';
    expect(errorsOf({ WS_PUBLIC_CHANNELS: 'general,system,user:alice,weather,sensor:a/b' })).toEqual([
      `WS_PUBLIC_CHANNELS: "system" ${hint}`,
      `WS_PUBLIC_CHANNELS: "user:alice" ${hint}`,
      `WS_PUBLIC_CHANNELS: "weather" ${hint}`,
      `WS_PUBLIC_CHANNELS: "sensor:a/b" ${hint}`,
    ]);
  });

  it('refuses other public key types', () => {
    const pem = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(errorsOf({ JWT_PUBLIC_KEY: pem })).toEqual(['JWT_PUBLIC_KEY: must be an RSA or EC P-256 public key, got ed25519']);
  });
});
