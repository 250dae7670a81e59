import { randomUUID } from 'node:crypto';
import { pageOf, type AddedNotification, type ListQuery, type NewNotification, type NotificationPage, type NotificationStore, type StoredNotification } from './notification-store.js';

interface Inbox {
  /** Insertion order is age order: the first entry is the oldest. */
  byId: Map<string, StoredNotification>;
  unread: number;
}

/** Single-instance store: lost on restart. */
export class InMemoryNotificationStore implements NotificationStore {
  private readonly inboxes = new Map<string, Inbox>();

  constructor(private readonly maxPerUser: number) {}

  async add(userIds: readonly string[], input: NewNotification): Promise<AddedNotification[]> {
    const createdAt = new Date().toISOString();
    return userIds.map((userId) => {
      const notification: StoredNotification = { id: randomUUID(), userId, ...input, createdAt, readAt: null };
      const inbox = this.inbox(userId);
      inbox.byId.set(notification.id, notification);
      inbox.unread += 1;
      this.trim(inbox);
      return { ...notification, unreadCount: inbox.unread };
    });
  }

  async list(userId: string, query: ListQuery): Promise<NotificationPage> {
    return pageOf([...(this.inboxes.get(userId)?.byId.values() ?? [])].reverse(), query);
  }

  async unreadCount(userId: string): Promise<number> {
    return this.inboxes.get(userId)?.unread ?? 0;
  }

  async markRead(userId: string, id: string): Promise<{ changed: boolean; unreadCount: number } | null> {
    const inbox = this.inboxes.get(userId);
    const notification = inbox?.byId.get(id);
    if (!inbox || !notification) return null;
    if (notification.readAt !== null) return { changed: false, unreadCount: inbox.unread };
    notification.readAt = new Date().toISOString();
    inbox.unread -= 1;
    return { changed: true, unreadCount: inbox.unread };
  }

  async markAllRead(userId: string): Promise<{ changed: number; unreadCount: number }> {
    const inbox = this.inboxes.get(userId);
    if (!inbox) return { changed: 0, unreadCount: 0 };
    const readAt = new Date().toISOString();
    const changed = inbox.unread;
    for (const notification of inbox.byId.values()) if (notification.readAt === null) notification.readAt = readAt;
    inbox.unread = 0;
    return { changed, unreadCount: 0 };
  }

  async remove(userId: string, id: string): Promise<{ unreadCount: number } | null> {
    const inbox = this.inboxes.get(userId);
    const notification = inbox?.byId.get(id);
    if (!inbox || !notification) return null;
    inbox.byId.delete(id);
    if (notification.readAt === null) inbox.unread -= 1;
    return { unreadCount: inbox.unread };
  }

  private inbox(userId: string): Inbox {
    let inbox = this.inboxes.get(userId);
    if (!inbox) {
      inbox = { byId: new Map(), unread: 0 };
      this.inboxes.set(userId, inbox);
    }
    return inbox;
  }

  private trim(inbox: Inbox): void {
    while (inbox.byId.size > this.maxPerUser) {
      const [oldestId, oldest] = inbox.byId.entries().next().value!;
      inbox.byId.delete(oldestId);
      if (oldest.readAt === null) inbox.unread -= 1;
    }
  }
}
