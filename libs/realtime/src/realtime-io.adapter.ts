import type { IncomingMessage } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { MetricsService } from '#observability';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import type { Server, ServerOptions, Socket } from 'socket.io';
import { HANDSHAKES_PER_TURN } from './auth/handshake-authenticator.js';
import { originAllowed } from './connections/origin.js';
import { TurnBudget } from './limits/turn-budget.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from './realtime.options.js';

/**
 * Builds the Socket.IO server from the module's options (path, CORS, keepalive, payload limit,
 * the Redis adapter in a cluster), since `@WebSocketGateway()` metadata is static. Install with {@link useRealtimeAdapter}.
 */
export class RealtimeIoAdapter extends IoAdapter {
  private readonly options: ResolvedRealtimeOptions;
  private readonly metrics: MetricsService;
  private readonly transportTurns = new TurnBudget(HANDSHAKES_PER_TURN);

  constructor(app: INestApplication) {
    super(app);
    this.options = app.get<ResolvedRealtimeOptions>(REALTIME_OPTIONS);
    this.metrics = app.get(MetricsService, { strict: false });
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const { path, corsOrigins, pingIntervalMs, pingTimeoutMs, maxPayloadBytes, cluster } = this.options;
    const server: Server = super.createIOServer(port, {
      ...(options as ServerOptions),
      path,
      serveClient: false,
      transports: ['websocket', 'polling'],
      pingInterval: pingIntervalMs,
      pingTimeout: pingTimeoutMs,
      maxHttpBufferSize: maxPayloadBytes,
      cors: { origin: corsOrigins.includes('*') ? '*' : corsOrigins, credentials: !corsOrigins.includes('*') },
      // CORS does not cover WebSocket upgrades: refuse foreign browser origins here for both transports.
      // A turn's worth of new transports at a time (see HANDSHAKES_PER_TURN): a reconnect storm's upgrades are spread over turns.
      allowRequest: (req: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void) =>
        void this.transportTurns
          .take()
          .then(() => (originAllowed(req.headers.origin, req.headers.host, corsOrigins) ? callback(null, true) : callback('Origin not allowed', false)))
          // engine.io's callback threw (the request's socket is gone): counted, never an unhandled rejection.
          .catch(() => this.metrics.listenerErrors.inc({ listener: 'engineio_allow_request' })),
    });
    this.countRefusals(server);
    if (cluster) {
      const { pubClient, subClient, channelPrefix } = cluster;
      server.adapter(
        cluster.sharded
          ? createShardedAdapter(pubClient, subClient, { channelPrefix })
          : createAdapter(pubClient, subClient, { key: channelPrefix, requestsTimeout: 2_000 }),
      );
    }
    return server;
  }

  /**
   * Counts what Engine.IO and Socket.IO refuse on their own, before any gateway sees it: requests
   * with a bad EIO version, transport, sid, method or body (`connection_error`), transports closed
   * for a packet Engine.IO cannot parse or a transport error (an oversized polling body among them),
   * and Socket.IO packets that do not decode (the socket's `error`). One shared listener per event,
   * nothing per socket beyond it.
   */
  private countRefusals(server: Server): void {
    const { metrics } = this;
    server.engine.on('connection_error', (error: { code?: number }) => metrics.engineIoErrors.inc({ code: ENGINE_ERROR_CODES[error.code ?? -1] ?? 'other' }));
    const onClose = (reason: string) => {
      if (reason === 'parse error' || reason === 'transport error') metrics.engineIoErrors.inc({ code: reason.replace(' ', '_') });
    };
    server.engine.on('connection', (conn: { once(event: 'close', listener: (reason: string) => void): void }) => conn.once('close', onClose));
    const onSocketError = () => metrics.framesRefused.inc({ protocol: 'socketio', reason: 'parse_error' });
    server.on('connection', (socket: Socket) => socket.on('error', onSocketError));
  }

  /**
   * Nest's IoAdapter builds an rxjs pipeline per handler per socket (fromEvent, mergeMap,
   * takeUntil), which cost about as much memory per idle socket as Socket.IO itself. Here each
   * event name gets one listener shared by every socket (`this` is the socket), which finds the
   * socket's handlers Nest bound for it: an idle socket holds no closure of its own.
   */
  override bindMessageHandlers(socket: Socket, handlers: MessageMappingProperties[], _transform: (data: unknown) => Observable<unknown>): void {
    const bound = this.handlersBySocket.get(socket);
    for (const { message } of handlers) {
      if (!bound?.some((handler) => handler.message === message)) socket.on(message as string, this.dispatcherFor(message as string));
    }
    this.handlersBySocket.set(socket, bound ? bound.concat(handlers) : handlers);
  }

  /** Nest's default wraps `callback` in a `once` listener and a closure per socket; the event fires once anyway. */
  override bindClientDisconnect(client: Socket, callback: (reason: string) => void): void {
    client.on('disconnect', callback);
  }

  private readonly handlersBySocket = new WeakMap<Socket, MessageMappingProperties[]>();
  private readonly dispatchers = new Map<string, (this: Socket, ...args: unknown[]) => void>();

  private dispatcherFor(message: string): (this: Socket, ...args: unknown[]) => void {
    let dispatcher = this.dispatchers.get(message);
    if (!dispatcher) {
      const adapter = this;
      dispatcher = function (this: Socket, ...args: unknown[]) {
        // Same shape as the rxjs fromEvent Nest uses: one argument alone, several as an array.
        const payload = args.length === 1 ? args[0] : args;
        for (const handler of adapter.handlersBySocket.get(this) ?? []) {
          if (handler.message === message) adapter.run(this, handler, payload);
        }
      };
      this.dispatchers.set(message, dispatcher);
    }
    return dispatcher;
  }

  /** Runs the handler, then answers: an `{event, data}` result is emitted, anything else goes to the ack. */
  private run(socket: Socket, { callback, isAckHandledManually }: MessageMappingProperties, payload: unknown): void {
    const { data, ack } = this.mapPayload(payload);
    // Runs now, as Socket.IO delivered it; a synchronous throw becomes a rejection like an async one.
    void new Promise((resolve) => resolve(callback(data, ack)))
      .then(async (result: unknown) => {
        const response = isObservable(result) ? await lastValueFrom(result, { defaultValue: undefined }) : result;
        if (response === undefined || response === null) return;
        const emitted = response as { event?: string; data?: unknown };
        if (typeof emitted.event === 'string') return void socket.emit(emitted.event, emitted.data);
        if (!isAckHandledManually && typeof ack === 'function') ack(response);
      })
      .catch((error: unknown) => this.logger.error(error));
  }
}

/** Engine.IO's `connection_error` codes (engine.io `Server.errors`), as metric labels. */
const ENGINE_ERROR_CODES: Record<number, string> = {
  0: 'unknown_transport',
  1: 'unknown_sid',
  2: 'bad_handshake_method',
  3: 'bad_request',
  4: 'forbidden',
  5: 'unsupported_protocol_version',
};

/** Installs the gateway's Socket.IO adapter on `app`; call before `app.init()`/`listen()`. */
export function useRealtimeAdapter(app: INestApplication): void {
  app.useWebSocketAdapter(new RealtimeIoAdapter(app));
}
