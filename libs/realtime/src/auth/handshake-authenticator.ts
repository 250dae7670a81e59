import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ExtendedError } from 'socket.io';
import { ErrorCode, type ConnectErrorData } from '#contracts';
import { MetricsService } from '#observability';
import { clientAddress } from '../connections/client-address.js';
import { ConnectionLimiter } from '../connections/connection-limiter.js';
import type { GatewaySocket } from '../gateway/socket.types.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime.options.js';
import { socketIoToken, TokenError, TokenService } from '#auth';

function refusal(message: string, code: ConnectErrorData['code']): ExtendedError {
  return Object.assign(new Error(message), { data: { code } satisfies ConnectErrorData });
}

/**
 * The Socket.IO handshake middleware (`server.use`). Nest guards do not run on connection, so
 * this is where a socket is admitted: capacity first (no crypto spent when full), then the token.
 * A refused handshake never reaches `connection`; the client gets `connect_error`.
 */
@Injectable()
export class HandshakeAuthenticator {
  private readonly logger = new Logger(HandshakeAuthenticator.name);
  private accepting = true;
  /**
   * Admission is counted per transport connection and released when its socket disconnects
   * ({@link release}) or the transport closes. The close covers a socket whose transport closes
   * before `connection` (it gets no `disconnect`); one listener shared by every connection (`this`
   * is the engine.io socket) costs no memory per socket.
   */
  private readonly releaseOnClose: (this: object) => void;

  constructor(
    private readonly tokens: TokenService,
    private readonly limiter: ConnectionLimiter,
    private readonly metrics: MetricsService,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {
    this.releaseOnClose = function (this: object) {
      limiter.release(this);
    };
  }

  /** Refuse every new handshake, both protocols, from now on (graceful shutdown). */
  stopAccepting(): void {
    this.accepting = false;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  /** The socket has disconnected: its transport may stay open and carry a new CONNECT. */
  release(socket: GatewaySocket): void {
    this.limiter.release(socket.conn);
  }

  readonly middleware = (socket: GatewaySocket, next: (err?: ExtendedError) => void): void => {
    if (!this.accepting) return this.refuse(socket, next, ErrorCode.SHUTTING_DOWN, 'Server shutting down');
    const address = clientAddress(socket.handshake.address, socket.handshake.headers, this.options.trustProxy);
    // socket.io-client opens one socket per namespace per connection; more would multiplex past the caps.
    if (this.limiter.holds(socket.conn)) return this.refuse(socket, next, ErrorCode.TOO_MANY_CONNECTIONS, 'One socket per connection');
    const admitted = this.limiter.tryAdmit(socket.conn, address);
    if (!admitted.ok) {
      return this.refuse(socket, next, admitted.code, admitted.code === ErrorCode.SERVER_FULL ? 'Server full' : 'Too many connections from this address');
    }
    const token = socketIoToken(socket.handshake);
    if (!token) return this.refuseAdmitted(socket, next, ErrorCode.TOKEN_MISSING, 'Unauthorized', 'no token');
    try {
      socket.data.identity = this.tokens.verify(token);
      socket.data.address = address;
    } catch (error) {
      if (error instanceof TokenError) return this.refuseAdmitted(socket, next, error.code, 'Unauthorized', error.message);
      this.limiter.release(socket.conn);
      throw error;
    }
    // Once per transport, however many times a client disconnects and connects again on it.
    if (!socket.conn.listeners('close').includes(this.releaseOnClose)) socket.conn.on('close', this.releaseOnClose);
    next();
  };

  /** A refused token frees the connection's slot at once: the client may try again on it. */
  private refuseAdmitted(socket: GatewaySocket, next: (err?: ExtendedError) => void, code: ConnectErrorData['code'], message: string, reason: string): void {
    this.limiter.release(socket.conn);
    this.refuse(socket, next, code, message, reason);
  }

  /** `message` is what the client sees; `reason` (default: the message) is only logged. */
  private refuse(socket: GatewaySocket, next: (err?: ExtendedError) => void, code: ConnectErrorData['code'], message: string, reason = message): void {
    this.metrics.handshakeFailures.inc({ protocol: 'socketio', code });
    this.logger.log({ msg: 'handshake refused', protocol: 'socketio', connectionId: socket.id, code, reason });
    next(refusal(message, code));
  }
}
