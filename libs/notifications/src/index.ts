export { NotificationsModule, type NotificationsModuleOptions } from './notifications.module.js';
export { NotificationsService, toView } from './notifications.service.js';
export { InMemoryNotificationStore } from './store/in-memory-notification.store.js';
export { NOTIFICATION_STORE, type NotificationStore, type StoredNotification } from './store/notification-store.js';
