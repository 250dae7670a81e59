import { Module, type DynamicModule } from '@nestjs/common';
import { GamificationModule } from '#gamification';
import { NotificationsModule } from '#notifications';
import { ObservabilityModule } from '#observability';
import { RealtimeModule } from '#realtime';
import { TelemetryModule } from '#telemetry';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { AuthModule } from './auth/auth.module.js';
import { HealthModule } from './health/health.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        RealtimeModule.forRoot(config.realtime),
        NotificationsModule.forRoot({ maxPerUser: config.notificationsMaxPerUser }),
        AuthModule.forRoot({ devTokens: config.devTokens }),
        HealthModule,
        ObservabilityModule,
        TelemetryModule.forRoot({ pipeline: config.pipeline, mqtt: { ...config.mqtt, demoFeed: config.demoFeed } }),
        GamificationModule,
      ],
    };
  }
}
