import 'reflect-metadata';
import { ConsoleLogger, Logger, ValidationPipe, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DatabaseConnection } from '#database';
import { useRealtimeAdapter } from '#realtime';
import { RedisConnection } from '#redis';
import { MqttIngestService } from '#telemetry';
import { AppModule } from './app.module.js';
import { LOG_LEVELS, type AppConfig } from './config/app-config.js';
import { serveDashboard } from './dashboard/serve-dashboard.js';
import { HealthService, type CheckResult } from './health/health.service.js';

export const API_PREFIX = 'api/v1';

/** Builds the gateway app with MQTT ingestion started (HTTP not yet listening): used by `main.ts` and the end-to-end tests. */
export async function createGateway(config: AppConfig): Promise<INestApplication> {
  const logger = new ConsoleLogger({
    logLevels: LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(config.logLevel) + 1),
    json: config.logFormat === 'json',
  });
  // forceCloseConnections: keep-alive HTTP sockets must not hold shutdown past its deadline.
  // The configured level and format from the first line on, also for what logs before Nest starts.
  Logger.overrideLogger(logger);
  // Opened (and migrated) before Nest starts, so an unreachable database fails with one readable line.
  const database = await DatabaseConnection.open({ url: config.database.url, dataDir: config.database.dataDir });
  let redis: RedisConnection | null = null;
  try {
    redis = config.redisUrl ? await RedisConnection.connect({ url: config.redisUrl, keyPrefix: config.redisKeyPrefix }) : null;
  } catch (error) {
    await database.close();
    throw error;
  }
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, database, redis), { logger, forceCloseConnections: true });
  app.setGlobalPrefix(API_PREFIX);
  const anyOrigin = config.corsOrigins.includes('*');
  app.enableCors({ origin: anyOrigin ? '*' : config.corsOrigins, credentials: !anyOrigin });
  // Also runs on gateway payloads (Nest applies global pipes there); the realtime filter answers VALIDATION_FAILED.
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  useRealtimeAdapter(app);
  serveDashboard(app, config.dashboardDir);
  const health = app.get(HealthService);
  // Bounded: a health probe must answer even while connections to the database hang.
  health.register('database', () =>
    Promise.race([database.ping(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 2 s')), 2_000).unref())]).then(
      (): CheckResult => ({ status: 'up', detail: database.dialect }),
      (error: Error): CheckResult => ({ status: 'down', detail: `${database.dialect}: ${error.message}` }),
    ),
  );
  if (redis) health.register('redis', () => (redis.isReady ? { status: 'up' } : { status: 'down', detail: 'reconnecting' }));
  const mqtt = app.get(MqttIngestService);
  health.register('mqtt', () => ({ status: mqtt.state === 'connected' ? 'up' : 'down', detail: mqtt.state }));
  await mqtt.connect(app);
  return app;
}
