import type { Identity } from '#auth';

/**
 * Tokenless readers of public channels (`WS_PUBLIC_CHANNELS`, CONTRACT.md §14), on `/api/v1/ws`
 * and Socket.IO alike: they read the channels they named at connect, and nothing else.
 */

/**
 * Who a tokenless reader is, for the parts of the gateway that need an identity (the hub's ACL sees
 * a plain `user`). Such a connection is never registered as a user, never joins a user room, never
 * gets a broadcast, and may send nothing but `ping`: every transport checks its own flag for that.
 */
export const ANONYMOUS: Identity = Object.freeze({ userId: 'anonymous', role: 'user', expiresAt: null });

/**
 * The Socket.IO room every tokenless socket is in: `broadcast` skips it. Not a topic nor a user
 * room, so nothing is ever published to it.
 */
export const ANONYMOUS_ROOM = 'anonymous-readers';

/** What a Socket.IO handshake carries: `auth.channels` (a list or `a,b`), or `?channels=a,b` / `?channel=a`. */
export interface PublicHandshake {
  auth?: unknown;
  query?: Record<string, unknown>;
}

/**
 * The channels a tokenless Socket.IO handshake asks for, when every one of them is public (and
 * there is at least one); otherwise null: the handshake needs a token as before.
 */
export function publicChannelsOf(handshake: PublicHandshake, publicChannels: ReadonlySet<string>): string[] | null {
  if (publicChannels.size === 0) return null;
  const named: unknown[] = [];
  const auth = handshake.auth;
  if (typeof auth === 'object' && auth !== null && 'channels' in auth) named.push((auth as { channels: unknown }).channels);
  for (const key of ['channels', 'channel']) if (handshake.query?.[key] !== undefined) named.push(handshake.query[key]);
  const channels = new Set<string>();
  for (const value of named.flat()) {
    if (typeof value !== 'string') return null;
    for (const channel of value.split(',').map((c) => c.trim())) {
      if (channel === '') continue;
      if (!publicChannels.has(channel)) return null;
      channels.add(channel);
    }
  }
  return channels.size === 0 ? null : [...channels];
}
