import { Module, type DynamicModule, type ModuleMetadata, type Provider } from '@nestjs/common';
import { AuthModule } from '#auth';
import { HandshakeAuthenticator } from './auth/handshake-authenticator.js';
import { ReadingBatcher } from './batching/reading-batcher.js';
import { SocketIoBackpressure } from './limits/socketio-backpressure.js';
import { ClusterBus } from './cluster/cluster-bus.js';
import { ConnectionLimiter } from './connections/connection-limiter.js';
import { UserSocketsRegistry } from './connections/user-sockets.registry.js';
import { NotificationsGateway } from './gateway/notifications.gateway.js';
import { PlainWebSocketGateway } from './gateway/plain-websocket.gateway.js';
import { TopicsGateway } from './gateway/topics.gateway.js';
import { SocketIoTransport } from './gateway/socketio.transport.js';
import { STREAM_HISTORY, SubscriptionHub } from './hub/subscription-hub.service.js';
import { InMemoryStreamHistory } from './streams/in-memory-stream-history.js';
import { RedisStreamHistory } from './streams/redis-stream-history.js';
import {
  REALTIME_OPTIONS,
  resolveRealtimeOptions,
  type RealtimeModuleAsyncOptions,
  type RealtimeModuleOptions,
  type ResolvedRealtimeOptions,
} from './realtime.options.js';
import { WebSocketService } from './websocket.service.js';
import { RealtimeOpsController } from './http/realtime-ops.controller.js';
import { RealtimeStatsService } from './stats/realtime-stats.service.js';
import { SseTicketController } from './sse/sse-ticket.controller.js';
import { SseController } from './sse/sse.controller.js';
import { SseTransport } from './sse/sse.transport.js';
import { InMemorySseTicketStore, RedisSseTicketStore, SSE_TICKETS } from './sse/sse-tickets.js';

const providers: Provider[] = [
  UserSocketsRegistry,
  HandshakeAuthenticator,
  WebSocketService,
  NotificationsGateway,
  TopicsGateway,
  PlainWebSocketGateway,
  RealtimeStatsService,
  ClusterBus,
  ReadingBatcher,
  SocketIoBackpressure,
  SubscriptionHub,
  SocketIoTransport,
  SseTransport,
  {
    // Redis when clustered: one script call per tick's publications keeps history and every instance's feed in step.
    provide: STREAM_HISTORY,
    inject: [REALTIME_OPTIONS],
    useFactory: (options: ResolvedRealtimeOptions) =>
      options.cluster ? new RedisStreamHistory(options.cluster.redis, options.history) : new InMemoryStreamHistory(options.history),
  },
  {
    provide: ConnectionLimiter,
    inject: [REALTIME_OPTIONS],
    useFactory: (options: ResolvedRealtimeOptions) => new ConnectionLimiter(options.maxConnections, options.maxConnectionsPerIp),
  },
  {
    // Clustered: in Redis (the cluster's connection), so a ticket minted on one instance is redeemed on any other, once.
    provide: SSE_TICKETS,
    inject: [REALTIME_OPTIONS],
    useFactory: (options: ResolvedRealtimeOptions) =>
      options.cluster ? new RedisSseTicketStore(options.cluster.redis, options.sseTicketTtlMs) : new InMemorySseTicketStore(options.sseTicketTtlMs),
  },
];
const controllers = [RealtimeOpsController, SseTicketController, SseController];
const exported = [WebSocketService, ConnectionLimiter, UserSocketsRegistry, PlainWebSocketGateway, SubscriptionHub];

/** Holds the resolved options of one `forRootAsync` call, so its factory runs once for this module and for `AuthModule`. */
@Module({})
class RealtimeOptionsModule {}

type Imports = NonNullable<ModuleMetadata['imports']>;

function isAuthModule(entry: Imports[number]): boolean {
  return entry === AuthModule || (typeof entry === 'object' && entry !== null && 'module' in entry && entry.module === AuthModule);
}

function missingJwt(): never {
  throw new Error('RealtimeModule needs jwt options, or AuthModule set up by the app (forRootAsync: list AuthModule.forRoot/forRootAsync in imports)');
}

/**
 * The real-time gateway as a Nest module: handshake auth, user rooms, topics, the plain WebSocket
 * endpoint, ops endpoints (`ws/stats`, `publish`, `ws/test-event`) and {@link WebSocketService}.
 * Install the adapter with `useRealtimeAdapter(app)` before `listen()`. Needs `ObservabilityModule`
 * (metrics); for `notification:unread_count` and mark-read, provide `NOTIFICATION_INBOX` globally.
 * Tokens are verified by `AuthModule` (#auth): set up from `jwt`, or by the app itself.
 */
@Module({})
export class RealtimeModule {
  static forRoot(options: RealtimeModuleOptions): DynamicModule {
    return {
      module: RealtimeModule,
      global: true,
      controllers,
      imports: options.jwt ? [AuthModule.forRoot({ jwt: options.jwt })] : [],
      providers: [{ provide: REALTIME_OPTIONS, useValue: resolveRealtimeOptions(options) }, ...providers],
      exports: [REALTIME_OPTIONS, ...exported],
    };
  }

  static forRootAsync(options: RealtimeModuleAsyncOptions): DynamicModule {
    const imports = options.imports ?? [];
    const optionsModule: DynamicModule = {
      module: RealtimeOptionsModule,
      imports,
      providers: [
        {
          provide: REALTIME_OPTIONS,
          inject: options.inject ?? [],
          useFactory: async (...args: unknown[]) => resolveRealtimeOptions(await options.useFactory(...args)),
        },
      ],
      exports: [REALTIME_OPTIONS],
    };
    const auth = imports.some(isAuthModule)
      ? []
      : [
          AuthModule.forRootAsync({
            imports: [optionsModule],
            inject: [REALTIME_OPTIONS],
            useFactory: (resolved: ResolvedRealtimeOptions) => ({ jwt: resolved.jwt ?? missingJwt() }),
          }),
        ];
    return {
      module: RealtimeModule,
      global: true,
      controllers,
      imports: [optionsModule, ...auth],
      providers,
      exports: [optionsModule, ...exported],
    };
  }
}
