import { useCallback, useEffect, useState } from 'react';
import { GatewayError } from '#client';
import type { NotificationsPage, NotificationView } from '#contracts';
import { useGatewayContext } from './gateway-context.js';
import { useEvent } from './use-topic.js';

const PAGE_SIZE = 50;

export interface NotificationsState {
  items: NotificationView[];
  unreadCount: number;
  error: string | null;
  markRead(notificationId: string): Promise<void>;
  markAllRead(): Promise<void>;
}

/**
 * The user's inbox, kept in sync across all of their tabs and devices: loaded over HTTP on the
 * first connect, then updated from `notification:*` events to the user's room. After a reconnect
 * the client resumes the user's stream, so the events missed meanwhile arrive by themselves; the
 * inbox is reloaded over HTTP only when that resume fails (`recovered: false`).
 */
export function useNotifications(): NotificationsState {
  const { client, api, state } = useGatewayContext();
  const [items, setItems] = useState<NotificationView[]>([]);
  const [unreadCount, setUnreadCount] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  useEffect(
    () =>
      client.onRecovery((stream, recovered) => {
        if (!recovered && stream === client.userStream) setReloads((count) => count + 1);
      }),
    [client],
  );

  useEffect(() => {
    if (!state.hasConnected) return;
    let current = true;
    api<NotificationsPage>('GET', `notifications?limit=${PAGE_SIZE}`).then(
      (page) => {
        if (!current) return;
        setItems(page.items);
        setUnreadCount(page.unreadCount);
        setError(null);
      },
      (failure: Error) => current && setError(failure.message),
    );
    return () => {
      current = false;
    };
  }, [api, state.hasConnected, reloads]);

  useEvent('notification:new', ({ notification }) =>
    setItems((previous) => [notification, ...previous.filter((item) => item.id !== notification.id)].slice(0, PAGE_SIZE)),
  );
  useEvent('notification:read', ({ notificationId }) =>
    setItems((previous) => previous.map((item) => (item.id === notificationId ? { ...item, read: true } : item))),
  );
  useEvent('notification:deleted', ({ notificationId }) => setItems((previous) => previous.filter((item) => item.id !== notificationId)));
  useEvent('notification:unread_count', ({ unreadCount: count }) => {
    setUnreadCount(count);
    // mark_all_read elsewhere arrives only as a zero count.
    if (count === 0) setItems((previous) => (previous.some((item) => !item.read) ? previous.map((item) => ({ ...item, read: true })) : previous));
  });

  const markRead = useCallback(
    async (notificationId: string) => {
      const reply = await client.socket.emitWithAck('notification:mark_read', { notificationId });
      if (!reply.ok) throw new GatewayError(reply.error.code, reply.error.message);
      setUnreadCount(reply.unreadCount);
      setItems((previous) => previous.map((item) => (item.id === notificationId ? { ...item, read: true } : item)));
    },
    [client],
  );
  const markAllRead = useCallback(async () => {
    const reply = await client.socket.emitWithAck('notification:mark_all_read', {});
    if (!reply.ok) throw new GatewayError(reply.error.code, reply.error.message);
    setUnreadCount(reply.unreadCount);
    setItems((previous) => previous.map((item) => ({ ...item, read: true })));
  }, [client]);

  return { items, unreadCount, error, markRead, markAllRead };
}
