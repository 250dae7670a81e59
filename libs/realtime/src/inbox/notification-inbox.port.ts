/**
 * What the gateway needs from a notifications store: the unread count sent on connect and the
 * socket commands `notification:mark_read` / `notification:mark_all_read`. The notifications
 * library provides it (globally) under {@link NOTIFICATION_INBOX}; the implementation emits the
 * sync events to every socket of the user itself, so HTTP and socket paths behave the same.
 */
export interface NotificationInbox {
  unreadCount(userId: string): Promise<number>;
  /** Null when the user has no notification with that id (another user's counts as none). */
  markRead(userId: string, notificationId: string): Promise<{ unreadCount: number } | null>;
  markAllRead(userId: string): Promise<{ unreadCount: number }>;
}

export const NOTIFICATION_INBOX = Symbol('NOTIFICATION_INBOX');
