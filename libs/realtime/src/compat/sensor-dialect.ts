/**
 * The sensor module's WebSocket dialect (CONTRACT.md §14) on `/api/v1/ws` and `/api/v1/ws/secure`:
 * what differs from `/ws` at the edges (paths, query, the `connection` frame, who may connect
 * without a token). Events are flattened by `flat-frame.ts`; everything else (in-frames, ACL,
 * limits, history) is `/ws`'s.
 */

/** Paths that speak the dialect. `/ws` keeps its own frames (CONTRACT.md §4). */
export const SENSOR_DIALECT_PATHS: readonly string[] = ['/api/v1/ws', '/api/v1/ws/secure'];
/** Always needs a token, even for a public channel: that is what its clients chose it for. */
export const SENSOR_DIALECT_SECURE_PATH = '/api/v1/ws/secure';

/** What a connection frame of either dialect says about the topics joined at connect. */
export type PlainDialect = 'ws' | 'sensor';

export function dialectOf(path: string): PlainDialect {
  return SENSOR_DIALECT_PATHS.includes(path) ? 'sensor' : 'ws';
}

/**
 * The topics a connection asks for at connect, on any plain path: `?topics=a,b` (`/ws`),
 * `?channels=a,b` and `?channel=a` (repeatable; the sensor module's). Trimmed, empty ones ignored,
 * duplicates kept once in the order given.
 */
export function requestedTopics(query: URLSearchParams): string[] {
  const lists = [...query.getAll('topics'), ...query.getAll('channels')].flatMap((list) => list.split(','));
  return [...new Set([...lists, ...query.getAll('channel')].map((topic) => topic.trim()).filter(Boolean))];
}

/**
 * The dialect's `connection` frame: `channel` is the one channel asked for (several: as the
 * comma-separated list; none: null), and `channels` lists them all.
 */
export function sensorConnectionFrame(
  channels: readonly string[],
  now = new Date(),
): { type: 'connection'; status: 'connected'; channel: string | null; channels: string[]; timestamp: string } {
  return {
    type: 'connection',
    status: 'connected',
    channel: channels.length === 0 ? null : channels.join(','),
    channels: [...channels],
    timestamp: now.toISOString(),
  };
}

/**
 * Whether a tokenless client may connect with these topics: on a dialect path other than
 * `/secure`, asking for at least one topic, every one of them public. Anything else still needs a
 * token (so it is answered as before: 401 TOKEN_MISSING).
 */
export function publicAccessAllowed(path: string, topics: readonly string[], publicChannels: ReadonlySet<string>): boolean {
  if (path === SENSOR_DIALECT_SECURE_PATH || !SENSOR_DIALECT_PATHS.includes(path)) return false;
  return topics.length > 0 && topics.every((topic) => publicChannels.has(topic));
}
