import 'reflect-metadata';
import { ConsoleLogger, Logger, ValidationPipe, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ErrorCode } from '#contracts';
import { answerClientErrors, httpErrorBody, useBodyDepthLimit, useHttpErrorFilter } from '#http';
import { MetricsService } from '#observability';
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
  // forceCloseConnections: keep-alive HTTP sockets must not hold shutdown past its deadline.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, database, redis), { logger, forceCloseConnections: true });
  app.setGlobalPrefix(API_PREFIX);
  const anyOrigin = config.corsOrigins.includes('*');
  app.enableCors({ origin: anyOrigin ? '*' : config.corsOrigins, credentials: !anyOrigin });
  // Also runs on gateway payloads (Nest applies global pipes there); the realtime filter answers VALIDATION_FAILED.
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  // Every HTTP error, ours or the framework's, answers { statusCode, code, message, details? } (CONTRACT.md §13).
  const metrics = app.get(MetricsService);
  const countRefusal = (status: number, code: ErrorCode) => metrics.httpRefused.inc({ status: String(status), code });
  useHttpErrorFilter(app, countRefusal);
  // What Node's parser refuses never reaches Express: answered as Node would, and counted.
  answerClientErrors(app.getHttpServer(), countRefusal);
  // Bodies nested past MAX_JSON_DEPTH get 400 VALIDATION_FAILED before the ValidationPipe recurses into them.
  useBodyDepthLimit(app);
  useRealtimeAdapter(app);
  serveDashboard(app, config.dashboardDir);
  const health = app.get(HealthService);
  // Bounded: a health probe must answer even while connections to the database hang. The health
  // route needs no token, so the driver's error (hosts, user names) goes to the log, not the answer.
  const healthLogger = new Logger('DatabaseHealth');
  health.register('database', () =>
    Promise.race([database.ping(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 2 s')), 2_000).unref())]).then(
      (): CheckResult => ({ status: 'up', detail: database.dialect }),
      (error: Error): CheckResult => {
        healthLogger.warn(`${database.dialect} is down: ${error.message}`);
        return { status: 'down', detail: `${database.dialect} unreachable` };
      },
    ),
  );
  if (redis) health.register('redis', () => (redis.isReady ? { status: 'up' } : { status: 'down', detail: 'reconnecting' }));
  const mqtt = app.get(MqttIngestService);
  health.register('mqtt', () => ({ status: mqtt.state === 'connected' ? 'up' : 'down', detail: mqtt.state }));
  await mqtt.connect(app);
  await app.init();
  // After every route: a path outside /api/v1 that nothing served (no dashboard file, no socket path)
  // answers like an unknown API route, not with Express's HTML page that repeats the path.
  app.use((_request: unknown, response: { status(code: number): { json(body: unknown): void } }) => {
    countRefusal(404, ErrorCode.NOT_FOUND);
    response.status(404).json(httpErrorBody(404, ErrorCode.NOT_FOUND));
  });
  return app;
}
