export interface StoredNotification {
  id: string;
  userId: string;
  title: string;
  message: string;
  data?: unknown;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601; null while unread. */
  readAt: string | null;
}

/** What `add` returns per recipient: the notification and that user's unread count right after it. */
export interface AddedNotification extends StoredNotification {
  unreadCount: number;
}

export interface NewNotification {
  title: string;
  message: string;
  data?: unknown;
}

export interface ListQuery {
  unreadOnly?: boolean;
  limit: number;
  /** The id of the last notification of the previous page. */
  cursor?: string;
}

export interface NotificationPage {
  items: StoredNotification[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * Per-user inboxes, newest kept, oldest dropped beyond the store's bound. Every method is scoped
 * by user id: a notification of another user is reported as absent. The gateway's implementation
 * is {@link KyselyNotificationStore} (its database); a host app can implement this interface over
 * its own tables and hand the class to `NotificationsModule.forRoot({ store })`.
 */
export interface NotificationStore {
  /** Stores one notification per user (each gets its own id); returned in `userIds` order, with each user's new unread count. */
  add(userIds: readonly string[], input: NewNotification): Promise<AddedNotification[]>;
  list(userId: string, query: ListQuery): Promise<NotificationPage>;
  /** O(1). */
  unreadCount(userId: string): Promise<number>;
  /** Null when absent. `changed` is false when it was already read. */
  markRead(userId: string, id: string): Promise<{ changed: boolean; unreadCount: number } | null>;
  markAllRead(userId: string): Promise<{ changed: number; unreadCount: number }>;
  /** Null when absent. */
  remove(userId: string, id: string): Promise<{ unreadCount: number } | null>;
}

export const NOTIFICATION_STORE = Symbol('NOTIFICATION_STORE');
