import { rmSync } from 'node:fs';
import type { INestApplication } from '@nestjs/common';
import { TokenService, type TokenClaims } from '#auth';
import { WebSocketService } from '#realtime';
import { MqttIngestService } from '#telemetry';
import { createGateway } from '../../src/bootstrap.js';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';
import { tempDataDir } from './database.js';

export interface TestGateway {
  app: INestApplication;
  config: AppConfig;
  /** http://127.0.0.1:<port> */
  url: string;
  websocket: WebSocketService;
  /** The broker the gateway ingests from (embedded unless MQTT_URL was given). */
  mqttUrl: string;
  token(sub: string, claims?: Omit<TokenClaims, 'sub'>, expiresInSeconds?: number): string;
  close(): Promise<void>;
}

/** Retries `check` until it passes, for state that settles asynchronously (a broker redelivering, a reconnect). */
export async function eventually<T>(check: () => Promise<T>, { attempts = 100, intervalMs = 100 } = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await check();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** Quiet, ephemeral-port defaults; each suite passes what it tests on top. */
const TEST_ENV: Record<string, string> = {
  NODE_ENV: 'development',
  PORT: '0',
  LOG_LEVEL: 'error',
  DEMO_FEED: 'false',
  MQTT_BROKER_PORT: '0',
};

let instances = 0;

/** A client id no other test gateway (in any worker, or any earlier run) uses. */
export function uniqueClientId(): string {
  return `test-${process.pid}-${Date.now().toString(36)}-${++instances}`;
}

export function testConfig(env: Record<string, string> = {}): AppConfig {
  const loaded = loadConfig({ ...TEST_ENV, MQTT_CLIENT_ID: uniqueClientId(), ...env });
  if (!loaded.ok) throw new Error(`Bad test environment: ${loaded.errors.join('; ')}`);
  return loaded.config;
}

/**
 * Boots the real app (HTTP + Socket.IO + MQTT ingestion) on a random port of 127.0.0.1. Without
 * `DATABASE_URL` or `DATA_DIR` it gets an empty embedded database of its own, removed on close.
 */
export async function startGateway(
  env: Record<string, string> = {},
  { waitForMqtt = true, configure }: { waitForMqtt?: boolean; configure?: (config: AppConfig) => void } = {},
): Promise<TestGateway> {
  const ownDataDir = env['DATABASE_URL'] || env['DATA_DIR'] ? null : tempDataDir('gateway');
  const config = testConfig(ownDataDir ? { ...env, DATA_DIR: ownDataDir } : env);
  // Options with no variable of their own (a shorter SSE ticket lifetime).
  configure?.(config);
  const app = await createGateway(config);
  await app.listen(config.port, '127.0.0.1');
  if (waitForMqtt) await app.get(MqttIngestService).whenConnected();
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const tokens = app.get(TokenService);
  return {
    app,
    config,
    url,
    websocket: app.get(WebSocketService),
    mqttUrl: app.get(MqttIngestService).brokerUrl,
    token: (sub, claims = {}, expiresInSeconds = 3600) => tokens.sign({ sub, ...claims }, expiresInSeconds),
    close: async () => {
      await app.close();
      if (ownDataDir) rmSync(ownDataDir, { recursive: true, force: true });
    },
  };
}
