import { Global, Module, type DynamicModule } from '@nestjs/common';
import { NOTIFICATION_INBOX } from '#realtime';
import { REDIS, type RedisConnection } from '#redis';
import { RedisNotificationStore } from './store/redis-notification.store.js';
import { NotificationsController } from './notifications.controller.js';
import { NotificationsService, OWNER_NOTIFICATION_LIMIT } from './notifications.service.js';
import { InMemoryNotificationStore } from './store/in-memory-notification.store.js';
import { NOTIFICATION_STORE } from './store/notification-store.js';

export interface NotificationsModuleOptions {
  /** Newest notifications kept per user. @default 1000 */
  maxPerUser?: number;
  /** Anomaly and alarm notifications per sensor owner per minute; the rest are held back. @default 10 */
  ownerNotificationsPerMinute?: number;
}

/**
 * Global so that the gateway (in `#realtime`) finds `NOTIFICATION_INBOX` without importing this
 * module, which itself needs `WebSocketService`.
 */
@Global()
@Module({})
export class NotificationsModule {
  static forRoot({ maxPerUser = 1000, ownerNotificationsPerMinute = 10 }: NotificationsModuleOptions = {}): DynamicModule {
    return {
      module: NotificationsModule,
      controllers: [NotificationsController],
      providers: [
        {
          provide: NOTIFICATION_STORE,
          inject: [REDIS],
          useFactory: (redis: RedisConnection | null) => (redis ? new RedisNotificationStore(redis, maxPerUser) : new InMemoryNotificationStore(maxPerUser)),
        },
        { provide: OWNER_NOTIFICATION_LIMIT, useValue: ownerNotificationsPerMinute },
        NotificationsService,
        { provide: NOTIFICATION_INBOX, useExisting: NotificationsService },
      ],
      exports: [NotificationsService, NOTIFICATION_INBOX, NOTIFICATION_STORE],
    };
  }
}
