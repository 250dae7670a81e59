import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ExtendedError } from 'socket.io';
import { ErrorCode, type ConnectErrorData } from '#contracts';
import { MetricsService } from '#observability';
import { clientAddress } from '../connections/client-address.js';
import { ConnectionLimiter } from '../connections/connection-limiter.js';
import { refusalMessage } from '../gateway/reply-error.js';
import type { EngineConnection, GatewaySocket } from '../gateway/socket.types.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime.options.js';
import { ANONYMOUS, publicChannelsOf } from '../compat/public-access.js';
import { socketIoToken, TokenError, TokenService } from '#auth';
import { TurnBudget } from '../limits/turn-budget.js';

/**
 * How long a transport refused when it opened (instance or address full) may wait for its CONNECT,
 * so that socket.io-client learns why (`connect_error` SERVER_FULL) rather than seeing a bare close.
 */
const REFUSED_TRANSPORT_GRACE_MS = 5_000;

/**
 * Socket.IO handshakes (token check, CONNECT, the gateway's connection handler) run per turn of
 * the event loop. Thousands of clients reconnecting at once would otherwise all be admitted in the
 * one turn that reads their CONNECTs, stalling the loop; the rest wait for the next turns.
 */
export const HANDSHAKES_PER_TURN = 50;

function refusal(code: ConnectErrorData['code']): ExtendedError {
  return Object.assign(new Error(refusalMessage(code)), { data: { code } satisfies ConnectErrorData });
}

/**
 * Admission for Socket.IO. Nest guards do not run on connection, so this is where a socket is
 * admitted, in two steps:
 * - every engine.io transport takes a connection slot (instance and per-address caps) the moment
 *   it opens ({@link onTransportOpen}) and holds it until it closes, authenticated or not, so
 *   transports that never send CONNECT are counted too;
 * - the handshake middleware (`server.use`) checks the token of its one socket. A refused
 *   handshake never reaches `connection`: the client gets `connect_error`, then the transport is
 *   closed, which frees its slot.
 */
@Injectable()
export class HandshakeAuthenticator {
  private readonly logger = new Logger(HandshakeAuthenticator.name);
  private accepting = true;
  /** One listener shared by every transport (`this` is the engine.io socket): no closure per connection. */
  private readonly releaseOnClose: (this: object) => void;
  /** Transports that hold an admitted socket (one each: socket.io-client never opens more on `/`). */
  private readonly withSocket = new WeakSet<object>();
  /** Transports refused when they opened, with the code their CONNECT will be refused with. */
  private readonly refusedTransports = new WeakMap<object, ConnectErrorData['code']>();
  /** `WS_PUBLIC_CHANNELS`: what a handshake without a token may read. */
  private readonly publicChannels: ReadonlySet<string>;

  constructor(
    private readonly tokens: TokenService,
    private readonly limiter: ConnectionLimiter,
    private readonly metrics: MetricsService,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {
    this.releaseOnClose = function (this: object) {
      limiter.release(this);
    };
    this.publicChannels = new Set(options.publicChannels);
  }

  /** Refuse every new handshake, both protocols, from now on (graceful shutdown). */
  stopAccepting(): void {
    this.accepting = false;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  /** The socket has disconnected: its transport (still counted until it closes) may carry a new CONNECT. */
  release(socket: GatewaySocket): void {
    this.withSocket.delete(socket.conn);
  }

  /** engine.io `connection`: a transport is open. Guarded: what throws closes that transport only. */
  readonly onTransportOpen = (conn: EngineConnection): void => {
    try {
      this.admitTransport(conn);
    } catch (error) {
      this.metrics.listenerErrors.inc({ listener: 'engine_connection' });
      this.logger.warn({ msg: 'connection listener threw', error: error instanceof Error ? error.message : String(error) });
      this.limiter.release(conn);
      conn.close(true);
    }
  };

  private admitTransport(conn: EngineConnection): void {
    const address = clientAddress(conn.remoteAddress, conn.request?.headers ?? {}, this.options.trustProxy);
    const admitted = this.accepting ? this.limiter.tryAdmit(conn, address) : ({ ok: false, code: ErrorCode.SHUTTING_DOWN } as const);
    if (admitted.ok) {
      conn.on('close', this.releaseOnClose);
      return;
    }
    // Not counted, so not kept: its CONNECT (socket.io-client sends it at once) gets the reason,
    // and whatever never sends one is closed after the grace period.
    this.refusedTransports.set(conn, admitted.code);
    this.metrics.handshakeFailures.inc({ protocol: 'socketio', code: admitted.code });
    this.logger.log({ msg: 'handshake refused', protocol: 'socketio', code: admitted.code, reason: 'transport over the cap' });
    setTimeout(() => conn.close(true), REFUSED_TRANSPORT_GRACE_MS).unref();
  }

  private readonly turns = new TurnBudget(HANDSHAKES_PER_TURN);

  readonly middleware = (socket: GatewaySocket, next: (err?: ExtendedError) => void): void => {
    void this.turns
      .take()
      .then(() => {
        try {
          this.admit(socket, next);
        } catch (error) {
          this.metrics.listenerErrors.inc({ listener: 'socketio_handshake' });
          next(error instanceof Error ? error : new Error(String(error)));
        }
      })
      // `next(error)` itself threw (the socket is gone): nothing is left to answer.
      .catch((error: Error) => this.logger.warn(`Handshake of ${socket.id} could not be answered: ${error.message}`));
  };

  private admit(socket: GatewaySocket, next: (err?: ExtendedError) => void): void {
    const conn = socket.conn;
    if (!this.limiter.holds(conn)) {
      const code = this.refusedTransports.get(conn);
      // Counted when its transport was refused; anything else here is a transport already closing.
      if (code) this.logger.debug({ msg: 'handshake refused', protocol: 'socketio', connectionId: socket.id, code, reason: 'transport refused' });
      return this.refuseAndClose(socket, next, code ?? ErrorCode.SERVER_FULL, 'transport refused', false);
    }
    if (!this.accepting) return this.refuseAndClose(socket, next, ErrorCode.SHUTTING_DOWN, 'shutting down');
    // socket.io-client opens one socket per namespace per connection; more would multiplex past the caps.
    if (this.withSocket.has(conn)) return this.refuse(socket, next, ErrorCode.TOO_MANY_CONNECTIONS, 'second socket on one transport');
    const token = socketIoToken(socket.handshake);
    if (!token) {
      // A tokenless reader of public channels only (CONTRACT.md §14); anything else needs a token, as before.
      const channels = publicChannelsOf(socket.handshake, this.publicChannels);
      if (!channels) return this.refuseAndClose(socket, next, ErrorCode.TOKEN_MISSING, 'no token');
      socket.data.identity = ANONYMOUS;
      socket.data.publicChannels = channels;
      socket.data.address = clientAddress(socket.handshake.address, socket.handshake.headers, this.options.trustProxy);
      this.withSocket.add(conn);
      return next();
    }
    try {
      socket.data.identity = this.tokens.verify(token);
      socket.data.address = clientAddress(socket.handshake.address, socket.handshake.headers, this.options.trustProxy);
    } catch (error) {
      if (error instanceof TokenError) return this.refuseAndClose(socket, next, error.code, error.message);
      throw error;
    }
    this.withSocket.add(conn);
    next();
  }

  /**
   * Refuses, then closes the transport once Socket.IO has written the CONNECT_ERROR (it does so on
   * the next tick): the slot is free again as soon as the transport is gone.
   */
  private refuseAndClose(socket: GatewaySocket, next: (err?: ExtendedError) => void, code: ConnectErrorData['code'], reason: string, count = true): void {
    this.refuse(socket, next, code, reason, count);
    const conn = socket.conn;
    process.nextTick(() => conn.close());
  }

  /** The client sees the code and its fixed message; `reason` (which may quote a library) is only logged. */
  private refuse(socket: GatewaySocket, next: (err?: ExtendedError) => void, code: ConnectErrorData['code'], reason: string, count = true): void {
    if (count) {
      this.metrics.handshakeFailures.inc({ protocol: 'socketio', code });
      this.logger.log({ msg: 'handshake refused', protocol: 'socketio', connectionId: socket.id, code, reason });
    }
    next(refusal(code));
  }
}
