import { Global, Module, type DynamicModule, type Type } from '@nestjs/common';
import { DATABASE_CONNECTION, type DatabaseConnection } from '#database';
import { NOTIFICATION_INBOX } from '#realtime';
import { NotificationsController } from './notifications.controller.js';
import { NotificationsService, OWNER_NOTIFICATION_LIMIT } from './notifications.service.js';
import { KyselyNotificationStore } from './store/kysely-notification.store.js';
import { NOTIFICATION_STORE, type NotificationStore } from './store/notification-store.js';

export interface NotificationsModuleOptions {
  /** Newest notifications kept per user. @default 1000 */
  maxPerUser?: number;
  /** Anomaly and alarm notifications per sensor owner per minute; the rest are held back. @default 10 */
  ownerNotificationsPerMinute?: number;
  /**
   * A host app's own inbox: a class implementing {@link NotificationStore}, built by Nest (so it
   * can inject the host's repositories). Default: the gateway's database (`DatabaseModule`).
   */
  store?: Type<NotificationStore>;
}

/**
 * Global so that the gateway (in `#realtime`) finds `NOTIFICATION_INBOX` without importing this
 * module, which itself needs `WebSocketService`.
 */
@Global()
@Module({})
export class NotificationsModule {
  static forRoot({ maxPerUser = 1000, ownerNotificationsPerMinute = 10, store }: NotificationsModuleOptions = {}): DynamicModule {
    return {
      module: NotificationsModule,
      controllers: [NotificationsController],
      providers: [
        store
          ? { provide: NOTIFICATION_STORE, useClass: store }
          : {
              provide: NOTIFICATION_STORE,
              inject: [DATABASE_CONNECTION],
              useFactory: (database: DatabaseConnection) => new KyselyNotificationStore(database.db, database.dialect, maxPerUser),
            },
        { provide: OWNER_NOTIFICATION_LIMIT, useValue: ownerNotificationsPerMinute },
        NotificationsService,
        { provide: NOTIFICATION_INBOX, useExisting: NotificationsService },
      ],
      exports: [NotificationsService, NOTIFICATION_INBOX, NOTIFICATION_STORE],
    };
  }
}
