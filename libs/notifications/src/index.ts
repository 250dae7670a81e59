export { NotificationsModule, type NotificationsModuleOptions } from './notifications.module.js';
export { NotificationsService, toView } from './notifications.service.js';
export { KyselyNotificationStore } from './store/kysely-notification.store.js';
export {
  NOTIFICATION_STORE,
  type AddedNotification,
  type ListQuery,
  type NewNotification,
  type NotificationPage,
  type NotificationStore,
  type StoredNotification,
} from './store/notification-store.js';
