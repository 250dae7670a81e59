import { Inject, Logger, Optional, UseFilters, UseGuards, UsePipes, type BeforeApplicationShutdown } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WsException,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
} from '@nestjs/websockets';
import { ErrorCode, MAX_JSON_DEPTH, valueTooDeep, type ClientEventName, type ClientEventRequests, type HandshakeAuth } from '#contracts';
import { MetricsService } from '#observability';
import { HandshakeAuthenticator } from '../auth/handshake-authenticator.js';
import { ReadingBatcher } from '../batching/reading-batcher.js';
import { ClusterBus } from '../cluster/cluster-bus.js';
import { TokenError, TokenService, WsJwtGuard } from '#auth';
import { UserSocketsRegistry } from '../connections/user-sockets.registry.js';
import { MarkAllReadDto, MarkReadDto } from '../dto/mark-read.dto.js';
import { RefreshTokenDto } from '../dto/refresh-token.dto.js';
import { WsAckExceptionFilter } from '../filters/ws-ack-exception.filter.js';
import { wsValidationPipe } from '../filters/ws-validation.pipe.js';
import { NOTIFICATION_INBOX, type NotificationInbox } from '../inbox/notification-inbox.port.js';
import { RateLimiter } from '../limits/rate-limiter.js';
import { SocketIoBackpressure } from '../limits/socketio-backpressure.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime.options.js';
import { SubscriptionHub } from '../hub/subscription-hub.service.js';
import { isStreamPosition } from '../streams/stream-history.js';
import { WebSocketService } from '../websocket.service.js';
import { PlainWebSocketGateway } from './plain-websocket.gateway.js';
import { errorBody, replyError } from './reply-error.js';
import type { GatewayServer, GatewaySocket } from './socket.types.js';
import { SocketIoTransport } from './socketio.transport.js';
import { TokenExpirySchedule } from './token-expiry-schedule.js';
import { ANONYMOUS_ROOM } from '../compat/public-access.js';

type Reply<E extends keyof ClientEventRequests> = { ok: true } & ClientEventRequests[E][1];

const CLIENT_EVENTS: ReadonlySet<string> = new Set([
  'subscribe',
  'unsubscribe',
  'notification:mark_read',
  'notification:mark_all_read',
  'auth:refresh',
] satisfies ClientEventName[]);

/**
 * No handler listens for it. `error` never is a client event: the only listener Socket.IO puts on
 * it is its own no-op, there so that a client's `error` event cannot throw.
 */
function isUnknownEvent(socket: GatewaySocket, event: string): boolean {
  return event === 'error' || socket.listenerCount(event) === 0;
}

/** How long shutdown waits for clients to take the goodbye and close. */
const DRAIN_TIMEOUT_MS = 5_000;

/**
 * Owns each socket's life: the handshake middleware, the user's room `user:<id>`, this
 * instance's user → sockets map, the token's expiry and refresh, the per-socket rate limit,
 * and the socket side of the notification inbox.
 */
@UseFilters(WsAckExceptionFilter)
@UsePipes(wsValidationPipe)
@WebSocketGateway()
export class NotificationsGateway
  implements OnGatewayInit<GatewayServer>, OnGatewayConnection<GatewaySocket>, OnGatewayDisconnect<GatewaySocket>, BeforeApplicationShutdown
{
  private readonly logger = new Logger(NotificationsGateway.name);
  private server: GatewayServer | null = null;
  private readonly tokenExpiries = new TokenExpirySchedule((socketId) => this.expire(socketId));

  constructor(
    private readonly handshake: HandshakeAuthenticator,
    private readonly tokens: TokenService,
    private readonly userSockets: UserSocketsRegistry,
    private readonly websocket: WebSocketService,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly plain: PlainWebSocketGateway,
    private readonly metrics: MetricsService,
    private readonly cluster: ClusterBus,
    private readonly batcher: ReadingBatcher,
    private readonly backpressure: SocketIoBackpressure,
    private readonly hub: SubscriptionHub,
    private readonly transport: SocketIoTransport,
    @Optional() @Inject(NOTIFICATION_INBOX) private readonly inbox: NotificationInbox | null,
  ) {}

  afterInit(server: GatewayServer): void {
    this.server = server;
    // Transports take their slot when they open, before any CONNECT (and before Socket.IO's own listener sees a packet).
    server.engine.on('connection', this.handshake.onTransportOpen);
    this.backpressure.attach(server.engine);
    server.use(this.handshake.middleware);
    this.websocket.attach(server);
    this.transport.attach(server);
    this.cluster.attach(server);
    this.metrics.observeConnections(
      () => ({ socketio: server.of('/').sockets.size, ws: this.plain.connectionCount }),
      () => this.userSockets.userCount,
    );
  }

  /**
   * Joins the user's stream (`user:<id>`) through the hub, resuming from the handshake's
   * `auth.since`: `authenticated {..., epoch, offset, recovered}` first, then the missed events,
   * then `notification:unread_count`.
   */
  async handleConnection(socket: GatewaySocket): Promise<void> {
    if (socket.data.publicChannels) return this.connectReader(socket, socket.data.publicChannels);
    const { identity } = socket.data;
    const since = (socket.handshake.auth as Partial<HandshakeAuth> | undefined)?.since;
    // Guarded: Nest does not catch what a connection handler throws, and nothing it throws may end the process.
    try {
      this.userSockets.add(identity.userId, socket.id);
      this.limitRate(socket);
      this.tokenExpiries.schedule(socket.id, identity);
      this.hub.register(this.transport.subscriberOf(socket));
      this.logger.log({
        msg: 'connected',
        protocol: 'socketio',
        connectionId: socket.id,
        userId: identity.userId,
        role: identity.role,
        transport: socket.conn.transport.name,
      });
      // A `since` that is not a position resumes nothing: `recovered: false`, never a refused connection.
      await this.hub.joinUserStream(socket.id, isStreamPosition(since) ? { since } : {}, ({ epoch, offset, recovered }) => {
        socket.emit('authenticated', {
          success: true,
          userId: identity.userId,
          role: identity.role,
          ...(identity.email ? { email: identity.email } : {}),
          ...(epoch === undefined ? {} : { epoch, offset }),
          ...(since === undefined ? {} : { recovered }),
        });
      });
    } catch (error) {
      if (!socket.connected) return;
      this.metrics.listenerErrors.inc({ listener: 'socketio_connection' });
      this.logger.warn({ msg: 'connection handler threw', connectionId: socket.id, error: error instanceof Error ? error.message : String(error) });
      socket.disconnect(true);
      return;
    }
    try {
      const unreadCount = this.inbox ? await this.inbox.unreadCount(identity.userId) : 0;
      if (socket.connected) socket.emit('notification:unread_count', { unreadCount });
    } catch (error) {
      this.logger.error(`Unread count for user=${identity.userId} failed: ${(error as Error).message}`);
    }
  }

  /**
   * A tokenless reader (`WS_PUBLIC_CHANNELS`): joins the public channels it named at the handshake
   * and nothing else: no user stream, no `authenticated`, no unread count, and out of broadcasts.
   * Every event it sends is refused ({@link limitRate}).
   */
  private async connectReader(socket: GatewaySocket, channels: readonly string[]): Promise<void> {
    try {
      this.limitRate(socket);
      void socket.join(ANONYMOUS_ROOM);
      this.hub.register(this.transport.subscriberOf(socket));
      this.logger.log({ msg: 'connected', protocol: 'socketio', connectionId: socket.id, userId: null, channels, transport: socket.conn.transport.name });
      const ignore = () => undefined;
      await Promise.all(channels.map((channel) => this.hub.subscribe(socket.id, channel, {}, ignore)));
    } catch (error) {
      if (!socket.connected) return;
      this.metrics.listenerErrors.inc({ listener: 'socketio_connection' });
      this.logger.warn({ msg: 'connection handler threw', connectionId: socket.id, error: error instanceof Error ? error.message : String(error) });
      socket.disconnect(true);
    }
  }

  handleDisconnect(socket: GatewaySocket, reason?: string): void {
    const { identity } = socket.data;
    this.handshake.release(socket);
    this.tokenExpiries.cancel(socket.id);
    this.hub.unregister(socket.id);
    if (socket.data.publicChannels) return void this.logger.log({ msg: 'disconnected', protocol: 'socketio', connectionId: socket.id, userId: null, reason });
    if (!identity) return;
    this.userSockets.remove(identity.userId, socket.id);
    this.logger.log({ msg: 'disconnected', protocol: 'socketio', connectionId: socket.id, userId: identity.userId, reason });
  }

  @SubscribeMessage('auth:refresh')
  refresh(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: RefreshTokenDto): Reply<'auth:refresh'> {
    let identity;
    try {
      identity = this.tokens.verify(body.token);
    } catch (error) {
      // The fixed message: jsonwebtoken's text can name the configured issuer or audience.
      if (error instanceof TokenError) throw new WsException(errorBody(error.code));
      throw error;
    }
    if (identity.userId !== socket.data.identity.userId) {
      throw new WsException(errorBody(ErrorCode.FORBIDDEN));
    }
    socket.data.identity = identity;
    this.tokenExpiries.schedule(socket.id, identity);
    // After a refresh with a lower role, drop the topics the new role may not hold (e.g. `system`).
    this.hub.revalidate(socket.id);
    return { ok: true, userId: identity.userId, expiresAt: identity.expiresAt };
  }

  @UseGuards(WsJwtGuard)
  @SubscribeMessage('notification:mark_read')
  async markRead(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: MarkReadDto): Promise<Reply<'notification:mark_read'>> {
    const result = await this.inbox?.markRead(socket.data.identity.userId, body.notificationId);
    if (!result) throw new WsException({ code: ErrorCode.NOT_FOUND, message: `No notification '${body.notificationId}'` });
    return { ok: true, notificationId: body.notificationId, unreadCount: result.unreadCount };
  }

  @UseGuards(WsJwtGuard)
  @SubscribeMessage('notification:mark_all_read')
  async markAllRead(@ConnectedSocket() socket: GatewaySocket, @MessageBody() _body: MarkAllReadDto): Promise<Reply<'notification:mark_all_read'>> {
    const result = this.inbox ? await this.inbox.markAllRead(socket.data.identity.userId) : { unreadCount: 0 };
    return { ok: true, unreadCount: result.unreadCount };
  }

  /** Stop accepting, say goodbye, close every transport and wait (bounded) for the sockets to go. */
  async beforeApplicationShutdown(): Promise<void> {
    this.handshake.stopAccepting();
    this.batcher.clear();
    const server = this.server;
    if (!server) return;
    const sockets = server.of('/').sockets;
    this.logger.log(`Shutting down: closing ${sockets.size} sockets`);
    server.emit('system:event', {
      level: 'warning',
      message: 'Server is shutting down',
      data: { code: ErrorCode.SHUTTING_DOWN },
      timestamp: new Date().toISOString(),
    });
    // Closing the transport (not `socket.disconnect()`) makes socket.io-client reconnect by itself, to another instance.
    for (const socket of sockets.values()) socket.conn.close();
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (sockets.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /**
   * Every client event passes here first (the socket's one middleware, so one closure per socket
   * that was already there): the rate limit, then unknown events, then arguments nested too deep. An event with no listener on the
   * socket (no handler any gateway bound) is answered `UNKNOWN_EVENT` on its ack, or dropped; both
   * are counted.
   */
  private limitRate(socket: GatewaySocket): void {
    const limiter = new RateLimiter(this.options.rateLimitPerSecond, Date.now());
    socket.use((packet, next) => {
      const event = packet[0];
      this.metrics.eventsIn.inc({ protocol: 'socketio', event: CLIENT_EVENTS.has(event) ? event : 'unknown' });
      const verdict = limiter.take(Date.now());
      if (verdict === 'abuse') {
        this.logger.warn(`Disconnecting socket=${socket.id} user=${socket.data.identity.userId}: sustained rate-limit abuse`);
        this.metrics.eventsRefused.inc({ protocol: 'socketio', code: ErrorCode.RATE_LIMITED });
        socket.emit('error', errorBody(ErrorCode.RATE_LIMITED));
        socket.disconnect(true);
        return;
      }
      // Arguments nested past MAX_JSON_DEPTH never reach a pipe (class-transformer recurses per level); `+ 1` for the array around them.
      const refused =
        verdict === 'limit'
          ? ErrorCode.RATE_LIMITED
          : isUnknownEvent(socket, event)
            ? ErrorCode.UNKNOWN_EVENT
            : // A tokenless reader may send nothing (CONTRACT.md §14: `ping` is engine.io's own heartbeat here).
              socket.data.publicChannels
              ? ErrorCode.FORBIDDEN
              : valueTooDeep(packet.slice(1), MAX_JSON_DEPTH + 1)
                ? ErrorCode.VALIDATION_FAILED
                : null;
      if (refused === null) return next();
      this.metrics.eventsRefused.inc({ protocol: 'socketio', code: refused });
      const ack = packet.at(-1);
      if (refused === ErrorCode.UNKNOWN_EVENT && typeof ack !== 'function') return;
      replyError(socket, ack, errorBody(refused));
    });
  }

  private expire(socketId: string): void {
    const socket = this.server?.of('/').sockets.get(socketId);
    if (!socket) return;
    socket.emit('error', errorBody(ErrorCode.TOKEN_EXPIRED));
    socket.disconnect(true);
  }
}
