// Moved to #auth; re-exported so host apps that imported them from here keep working.
export {
  AuthModule,
  CurrentIdentity,
  HttpJwtGuard,
  Roles,
  TokenError,
  TokenService,
  WsJwtGuard,
  bearerToken,
  type Identity,
  type JwtOptions,
  type TokenClaims,
} from '#auth';
export { IsId } from './dto/is-id.decorator.js';
export { ConnectionLimiter } from './connections/connection-limiter.js';
export { validationMessages } from './filters/validation-messages.js';
export { PLAIN_WS_PATHS, PlainWebSocketGateway } from './gateway/plain-websocket.gateway.js';
export { UserSocketsRegistry } from './connections/user-sockets.registry.js';
export type { GatewayServer, GatewaySocket, SocketData } from './gateway/socket.types.js';
export { NOTIFICATION_INBOX, type NotificationInbox } from './inbox/notification-inbox.port.js';
export { RealtimeIoAdapter, useRealtimeAdapter } from './realtime-io.adapter.js';
export { RealtimeModule } from './realtime.module.js';
export type { ClusterOptions, RealtimeModuleAsyncOptions, RealtimeModuleOptions } from './realtime.options.js';
export { authorizeTopic } from './topics/topic-acl.js';
export { WebSocketService } from './websocket.service.js';
export * from './streams/index.js';
export {
  HubError,
  MAX_TOPICS_PER_SOCKET,
  STREAM_HISTORY,
  SubscriptionHub,
  type JoinAck,
  type SubscribeRequest as HubSubscribeRequest,
} from './hub/subscription-hub.service.js';
export type { DeliveryGroup, HoldOptions, HubProtocol, HubTransport, Subscriber } from './hub/subscriber.js';
export { WsAckExceptionFilter } from './filters/ws-ack-exception.filter.js';
export { wsValidationPipe } from './filters/ws-validation.pipe.js';
