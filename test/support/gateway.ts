import type { INestApplication } from '@nestjs/common';
import { TokenService, WebSocketService, type TokenClaims } from '#realtime';
import { createGateway } from '../../src/bootstrap.js';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';

export interface TestGateway {
  app: INestApplication;
  config: AppConfig;
  /** http://127.0.0.1:<port> */
  url: string;
  websocket: WebSocketService;
  token(sub: string, claims?: Omit<TokenClaims, 'sub'>, expiresInSeconds?: number): string;
  close(): Promise<void>;
}

/** Quiet, ephemeral-port defaults; each suite passes what it tests on top. */
const TEST_ENV: Record<string, string> = {
  PORT: '0',
  LOG_LEVEL: 'error',
  DEMO_FEED: 'false',
};

export function testConfig(env: Record<string, string> = {}): AppConfig {
  const loaded = loadConfig({ ...TEST_ENV, ...env });
  if (!loaded.ok) throw new Error(`Bad test environment: ${loaded.errors.join('; ')}`);
  return loaded.config;
}

/** Boots the real app (HTTP + Socket.IO) on a random port of 127.0.0.1. */
export async function startGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const config = testConfig(env);
  const app = await createGateway(config);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const tokens = app.get(TokenService);
  return {
    app,
    config,
    url,
    websocket: app.get(WebSocketService),
    token: (sub, claims = {}, expiresInSeconds = 3600) => tokens.sign({ sub, ...claims }, expiresInSeconds),
    close: () => app.close(),
  };
}
