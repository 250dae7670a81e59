import { useState } from 'react';
import { useNotifications } from '../hooks/index.js';

/** Unread count, the inbox and mark-read, in sync across every tab and device of the user. */
export function NotificationBell() {
  const { items, unreadCount, error, markRead, markAllRead } = useNotifications();
  const [open, setOpen] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const attempt = (action: () => Promise<void>) => () => {
    setFailure(null);
    action().catch((problem: Error) => setFailure(problem.message));
  };

  return (
    <div className="bell">
      <button type="button" aria-label={`Notifications: ${unreadCount} unread`} aria-expanded={open} onClick={() => setOpen(!open)}>
        <BellIcon />{' '}
        <span className={unreadCount > 0 ? 'count unread' : 'count'} data-testid="bell-count">
          {unreadCount}
        </span>
      </button>
      {open && (
        <div className="inbox" role="dialog" aria-label="Notifications">
          <div className="inbox-head">
            <strong>Notifications</strong>
            <button type="button" className="link" disabled={unreadCount === 0} onClick={attempt(markAllRead)}>
              Mark all read
            </button>
          </div>
          {(error ?? failure) && <p className="error">{error ?? failure}</p>}
          {items.length === 0 && <p className="muted">Nothing here.</p>}
          <ul>
            {items.map((item) => (
              <li key={item.id} data-testid="notification" data-read={item.read} className={item.read ? 'read' : 'unread'}>
                <div>
                  <strong>{item.title}</strong>
                  <p>{item.message}</p>
                  <time className="muted">{new Date(item.createdAt).toLocaleString()}</time>
                </div>
                {!item.read && (
                  <button type="button" onClick={attempt(() => markRead(item.id))}>
                    Mark read
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

function BellIcon() {
  return (
    <svg
      width="16"
      height="16"
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
    >
      <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" />
      <path d="M13.73 21a2 2 0 0 1-3.46 0" />
    </svg>
  );
}
