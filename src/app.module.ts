import { Module, type DynamicModule } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { AlarmsModule } from '#alarms';
import { DatabaseModule, type DatabaseConnection } from '#database';
import { GamificationModule } from '#gamification';
import { NotificationsModule } from '#notifications';
import { ObservabilityModule } from '#observability';
import { RealtimeModule } from '#realtime';
import { RedisModule, type RedisConnection } from '#redis';
import { TelemetryModule } from '#telemetry';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DevTokenModule } from './auth/dev-token.module.js';
import { HealthModule } from './health/health.module.js';

@Module({})
export class AppModule {
  /**
   * `database`: open and migrated (SQLite or PostgreSQL). `redis`: connected when `REDIS_URL` is
   * set (cluster mode), else null (in-memory adapter and pipeline state, single instance).
   */
  static forRoot(config: AppConfig, database: DatabaseConnection, redis: RedisConnection | null = null): DynamicModule {
    const cluster = redis
      ? {
          redis,
          pubClient: redis.pub,
          subClient: redis.sub,
          sharded: redis.serverVersion >= 7,
          channelPrefix: redis.key('socket.io'),
          isReady: () => redis.isReady,
        }
      : undefined;
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        // In-process domain events: the pipeline announces `reading.judged`, alarms listen.
        EventEmitterModule.forRoot(),
        DatabaseModule.forRoot(database),
        RedisModule.forRoot(redis),
        RealtimeModule.forRoot({ ...config.realtime, cluster, history: config.history }),
        NotificationsModule.forRoot({ maxPerUser: config.notificationsMaxPerUser, ownerNotificationsPerMinute: config.ownerNotificationsPerMinute }),
        DevTokenModule.forRoot({ devTokens: config.devTokens }),
        HealthModule,
        ObservabilityModule,
        TelemetryModule.forRoot({
          pipeline: {
            ...config.pipeline,
            readingsRetentionDays: config.readings.retentionDays,
            readingsFlushMs: config.readings.flushMs,
            readingsMaxQueue: config.readings.maxQueue,
          },
          mqtt: { ...config.mqtt, demoFeed: config.demoFeed },
        }),
        GamificationModule,
        AlarmsModule.forRoot(config.alarms),
      ],
    };
  }
}
