import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { HandshakeAuthenticator } from './auth/handshake-authenticator.js';
import { ReadingBatcher } from './batching/reading-batcher.js';
import { SocketIoBackpressure } from './limits/socketio-backpressure.js';
import { ClusterBus } from './cluster/cluster-bus.js';
import { HttpJwtGuard } from './auth/http-jwt.guard.js';
import { TokenService } from './auth/token.service.js';
import { WsJwtGuard } from './auth/ws-jwt.guard.js';
import { ConnectionLimiter } from './connections/connection-limiter.js';
import { UserSocketsRegistry } from './connections/user-sockets.registry.js';
import { NotificationsGateway } from './gateway/notifications.gateway.js';
import { PlainWebSocketGateway } from './gateway/plain-websocket.gateway.js';
import { TopicsGateway } from './gateway/topics.gateway.js';
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

const providers: Provider[] = [
  TokenService,
  WsJwtGuard,
  HttpJwtGuard,
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
  {
    provide: ConnectionLimiter,
    inject: [REALTIME_OPTIONS],
    useFactory: (options: ResolvedRealtimeOptions) => new ConnectionLimiter(options.maxConnections, options.maxConnectionsPerIp),
  },
];
const exported = [REALTIME_OPTIONS, TokenService, WsJwtGuard, HttpJwtGuard, WebSocketService, ConnectionLimiter, UserSocketsRegistry, PlainWebSocketGateway];

/**
 * The real-time gateway as a Nest module: handshake auth, user rooms, topics, the plain WebSocket
 * endpoint, ops endpoints (`ws/stats`, `publish`, `ws/test-event`) and {@link WebSocketService}.
 * Install the adapter with `useRealtimeAdapter(app)` before `listen()`. Needs `ObservabilityModule`
 * (metrics); for `notification:unread_count` and mark-read, provide `NOTIFICATION_INBOX` globally.
 */
@Module({})
export class RealtimeModule {
  static forRoot(options: RealtimeModuleOptions): DynamicModule {
    return {
      module: RealtimeModule,
      global: true,
      controllers: [RealtimeOpsController],
      providers: [{ provide: REALTIME_OPTIONS, useValue: resolveRealtimeOptions(options) }, ...providers],
      exports: exported,
    };
  }

  static forRootAsync(options: RealtimeModuleAsyncOptions): DynamicModule {
    return {
      module: RealtimeModule,
      global: true,
      controllers: [RealtimeOpsController],
      imports: options.imports ?? [],
      providers: [
        {
          provide: REALTIME_OPTIONS,
          inject: options.inject ?? [],
          useFactory: async (...args: unknown[]) => resolveRealtimeOptions(await options.useFactory(...args)),
        },
        ...providers,
      ],
      exports: exported,
    };
  }
}
