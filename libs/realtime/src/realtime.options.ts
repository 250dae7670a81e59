import type { ModuleMetadata } from '@nestjs/common';
import type { JwtOptions } from '#auth';
import { canBePublic, withoutUndefined } from '#contracts';
import type { RedisConnection } from '#redis';
import type { StreamHistoryOptions } from './streams/stream-history.js';

export interface RealtimeModuleOptions {
  /**
   * How tokens are verified (sets up `AuthModule` for you). Omit it when the app sets up `AuthModule`
   * itself (`forRoot`: import it anywhere; `forRootAsync`: list it in `imports`).
   */
  jwt?: JwtOptions;
  /** Socket.IO path. @default '/socket.io/' */
  path?: string;
  /** Origins allowed for HTTP polling and for browser WebSocket upgrades; `['*']` allows any. @default [] (same origin only) */
  corsOrigins?: string[];
  /** Sockets per instance, both protocols together. @default 10000 */
  maxConnections?: number;
  /** Sockets per client address; 0 is off. @default 0 */
  maxConnectionsPerIp?: number;
  /** Take the client address from `X-Forwarded-For`. @default false */
  trustProxy?: boolean;
  /** Largest client message in bytes; a larger one closes that connection. @default 65536 */
  maxPayloadBytes?: number;
  /** Client events per second per socket; bursts of twice as many pass. @default 50 */
  rateLimitPerSecond?: number;
  /** A client (Socket.IO on either transport, or plain WebSocket) with more than this many bytes waiting for it is disconnected (plain WebSocket: close 1013). @default 1048576 */
  maxBufferedBytes?: number;
  /** Several instances behind one Redis: stream history and delivery in Redis, the Redis adapter for presence, stats and `broadcast`. @default undefined (single instance) */
  cluster?: ClusterOptions;
  /**
   * Topics that clients without a token may read (on `/api/v1/ws` and Socket.IO), and nothing else:
   * they get no user room and may send nothing but `ping`. Only topics every role may read
   * (never `system` or a user room). @default [] (every client needs a token)
   */
  publicChannels?: string[];
  /** Stream history (CONTRACT section 9): `historySize` (`HISTORY_SIZE`, 1000) and `historyTtlSeconds` (`HISTORY_TTL`, 600). In memory without `cluster`, in Redis with it. */
  history?: StreamHistoryOptions;
  /** Keepalive ping interval in ms. @default 30000 */
  pingIntervalMs?: number;
  /** A peer that does not answer a ping within this many ms is dropped. @default 10000 */
  pingTimeoutMs?: number;
  /** Lifetime of an SSE ticket (`POST /api/v1/events/ticket`); the contract says 60 s, tests shorten it. @default 60000 */
  sseTicketTtlMs?: number;
}

export interface ClusterOptions {
  /** The app's Redis connection: the stream history and its live feed (one script call per tick's publications, one channel). */
  redis: RedisConnection;
  /** node `redis` clients for the Socket.IO Redis adapter; `pub` should fail fast while disconnected. */
  pubClient: unknown;
  subClient: unknown;
  /** Redis >= 7: sharded Pub/Sub. */
  sharded: boolean;
  /** Adapter channel prefix: deployments (or test runs) sharing one Redis must not share it. */
  channelPrefix: string;
  /** Whether Redis is reachable now: while it is not, cluster requests answer from this instance alone. */
  isReady: () => boolean;
}

export type ResolvedRealtimeOptions = Required<Omit<RealtimeModuleOptions, 'jwt' | 'cluster'>> & { jwt?: JwtOptions; cluster?: ClusterOptions };

export const REALTIME_OPTIONS = Symbol('REALTIME_OPTIONS');

export function resolveRealtimeOptions(options: RealtimeModuleOptions): ResolvedRealtimeOptions {
  checkPublicChannels(options.publicChannels ?? []);
  return {
    path: '/socket.io/',
    corsOrigins: [],
    maxConnections: 10_000,
    maxConnectionsPerIp: 0,
    trustProxy: false,
    maxPayloadBytes: 65_536,
    rateLimitPerSecond: 50,
    maxBufferedBytes: 1024 * 1024,
    pingIntervalMs: 30_000,
    pingTimeoutMs: 10_000,
    publicChannels: [],
    sseTicketTtlMs: 60_000,
    history: {},
    ...withoutUndefined(options),
  };
}

/** The `publicChannels` option checked: a topic that cannot be public is a configuration error, never silently opened. */
function checkPublicChannels(channels: readonly string[]): void {
  const bad = channels.filter((channel) => !canBePublic(channel));
  if (bad.length > 0)
    throw new RangeError(
      `Realtime option publicChannels may list only topics every role may read (not system, not user rooms), got ${bad.map((c) => JSON.stringify(c.slice(0, 80))).join(', ')}`,
    );
}

export interface RealtimeModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: any[]) => RealtimeModuleOptions | Promise<RealtimeModuleOptions>;
  inject?: any[];
}
