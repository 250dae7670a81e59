import { Inject, Injectable, Logger } from '@nestjs/common';
import type { NotificationView } from '#contracts';
import { WebSocketService, type NotificationInbox } from '#realtime';
import { OwnerNotificationLimiter } from './limits/owner-notification-limiter.js';
import {
  NOTIFICATION_STORE,
  type ListQuery,
  type NewNotification,
  type NotificationPage,
  type NotificationStore,
  type StoredNotification,
} from './store/notification-store.js';

/** Notifications per sensor owner per minute (`OWNER_NOTIFICATIONS_PER_MINUTE`). */
export const OWNER_NOTIFICATION_LIMIT = Symbol('OWNER_NOTIFICATION_LIMIT');

export function toView(notification: StoredNotification): NotificationView {
  const { id, title, message, data, createdAt, readAt } = notification;
  return { id, title, message, ...(data === undefined ? {} : { data }), createdAt, read: readAt !== null };
}

/**
 * The one way to notify users: store first, then tell every socket of each user. Every change
 * (read, read all, delete) is followed by the user's new unread count, so all devices agree.
 */
@Injectable()
export class NotificationsService implements NotificationInbox {
  private readonly logger = new Logger(NotificationsService.name);
  private readonly ownerLimiter: OwnerNotificationLimiter;

  constructor(
    @Inject(NOTIFICATION_STORE) private readonly store: NotificationStore,
    private readonly websocket: WebSocketService,
    @Inject(OWNER_NOTIFICATION_LIMIT) ownerNotificationsPerMinute: number,
  ) {
    this.ownerLimiter = new OwnerNotificationLimiter(ownerNotificationsPerMinute);
  }

  /**
   * A notification the system raises about something a user owns (a sensor's anomalies, alarms):
   * rate-limited per owner, so nobody who can make a sensor misbehave can flood its owner's inbox.
   * What is held back is dropped and counted in the next one's `data.suppressed`. Null when held back.
   */
  async notifyOwner(ownerId: string, input: NewNotification): Promise<StoredNotification | null> {
    const verdict = this.ownerLimiter.take(ownerId, Date.now());
    if (!verdict.allowed) {
      this.logger.debug(`Held back a notification to owner ${ownerId}: over the per-minute limit`);
      return null;
    }
    const data = verdict.suppressed > 0 ? { ...(isRecord(input.data) ? input.data : { value: input.data }), suppressed: verdict.suppressed } : input.data;
    const [stored] = await this.notify([ownerId], { ...input, ...(data === undefined ? {} : { data }) });
    return stored ?? null;
  }

  async notify(userIds: readonly string[], input: NewNotification): Promise<StoredNotification[]> {
    const recipients = [...new Set(userIds)];
    // The store hands back each user's new unread count with the notification: no second read per user.
    const stored = await this.store.add(recipients, input);
    const timestamp = new Date().toISOString();
    for (const notification of stored) {
      this.websocket.emitToUser(notification.userId, 'notification:new', { notification: toView(notification), timestamp });
      this.websocket.emitToUser(notification.userId, 'notification:unread_count', { unreadCount: notification.unreadCount });
    }
    this.logger.debug(`Notified ${recipients.length} users: ${input.title}`);
    return stored;
  }

  list(userId: string, query: ListQuery): Promise<NotificationPage> {
    return this.store.list(userId, query);
  }

  unreadCount(userId: string): Promise<number> {
    return this.store.unreadCount(userId);
  }

  async markRead(userId: string, notificationId: string): Promise<{ unreadCount: number } | null> {
    const result = await this.store.markRead(userId, notificationId);
    if (!result) return null;
    this.websocket.emitToUser(userId, 'notification:read', { notificationId, success: true });
    this.websocket.emitToUser(userId, 'notification:unread_count', { unreadCount: result.unreadCount });
    return { unreadCount: result.unreadCount };
  }

  async markAllRead(userId: string): Promise<{ unreadCount: number }> {
    const result = await this.store.markAllRead(userId);
    this.websocket.emitToUser(userId, 'notification:unread_count', { unreadCount: result.unreadCount });
    return { unreadCount: result.unreadCount };
  }

  async remove(userId: string, notificationId: string): Promise<{ unreadCount: number } | null> {
    const result = await this.store.remove(userId, notificationId);
    if (!result) return null;
    this.websocket.emitToUser(userId, 'notification:deleted', { notificationId, success: true });
    this.websocket.emitToUser(userId, 'notification:unread_count', { unreadCount: result.unreadCount });
    return result;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
